"""SageMaker's hyperparameter tuning operations on the wire: request members in, response members out.

Names and shapes are botocore's (`sagemaker/2017-07-24/service-2.json`); timestamps are epoch seconds.
"""

from __future__ import annotations

import time
from typing import Any

from roost.api.training_job_operations import _decode_token, _encode_token, as_described
from roost.platform.api_shapes import parse_input
from roost.platform.service_model import members
from roost.platform.services import Platform
from roost.platform.tuning_jobs import TuningJobRecord
from roost.platform.tuning_results import (
    best,
    not_improving,
    objective_counters,
    objective_value,
    overall_best,
    status_counters,
    summaries,
)


def _page(items: list[dict[str, Any]], key: str, given: dict[str, Any], most: int) -> dict[str, Any]:
    """`{"page": ...}`: one page of `items` (sorted, each with a unique `key`), and the next one's
    `NextToken` when more follow."""
    start = 0
    if given.get("NextToken"):
        _, after = _decode_token(given["NextToken"])
        start = next((i + 1 for i, item in enumerate(items) if item[key] == after), len(items))
    page = items[start : start + most]
    more = start + most < len(items) and page
    return {"page": page, **({"NextToken": _encode_token(page[-1][key], page[-1][key])} if more else {})}


def _counters(platform: Platform, record: TuningJobRecord) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    found = summaries(platform.tuning_jobs, record)
    counters = {
        "TrainingJobStatusCounters": status_counters(found),
        "ObjectiveStatusCounters": objective_counters(found),
    }
    return found, counters


def _definition(stored: dict[str, Any]) -> dict[str, Any]:
    """The training job definition as a trial's DescribeTrainingJob shows its request, in the members of
    HyperParameterTrainingJobDefinition."""
    described = {**stored, **as_described(stored)}
    algorithm = set(members("HyperParameterAlgorithmSpecification"))
    described["AlgorithmSpecification"] = {
        k: v for k, v in described["AlgorithmSpecification"].items() if k in algorithm
    }
    return described


def create_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"HyperParameterTuningJobArn": platform.tuning_jobs.create(payload, region=region).arn}


def describe_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse_input("DescribeHyperParameterTuningJob", payload)["HyperParameterTuningJobName"]
    record = platform.tuning_jobs.describe(name)
    found, counters = _counters(platform, record)
    ended = record.end_time or time.time()
    response: dict[str, Any] = {
        **record.request,
        "TrainingJobDefinition": _definition(record.request["TrainingJobDefinition"]),
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": record.creation_time,
        "LastModifiedTime": record.last_modified_time,
        **counters,
        "ConsumedResources": {"RuntimeInSeconds": round(ended - record.creation_time)},
        "TuningJobCompletionDetails": {
            "NumberOfTrainingJobsObjectiveNotImproving": not_improving(found, record.maximize)
        },
    }
    own_best = best(found, record.maximize)
    optional = {
        "HyperParameterTuningEndTime": record.end_time,
        "FailureReason": record.failure_reason,
        "BestTrainingJob": own_best,
        "OverallBestTrainingJob": (
            overall_best(platform.tuning_jobs, record, own_best)
            if "WarmStartConfig" in record.request
            else None
        ),
    }
    response.update({k: v for k, v in optional.items() if v is not None})
    return response


def _wanted(record: TuningJobRecord, given: dict[str, Any]) -> bool:
    """Whether a tuning job passes ListHyperParameterTuningJobs' filters."""
    contains = given.get("NameContains")
    bounds = (
        (record.creation_time, given.get("CreationTimeAfter"), given.get("CreationTimeBefore")),
        (record.last_modified_time, given.get("LastModifiedTimeAfter"), given.get("LastModifiedTimeBefore")),
    )
    return (
        (not contains or contains.lower() in record.name.lower())
        and given.get("StatusEquals") in (None, record.status)
        and all(
            (after is None or at > after) and (before is None or at < before) for at, after, before in bounds
        )
    )


def list_tuning_jobs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = parse_input("ListHyperParameterTuningJobs", payload)
    records = [r for r in platform.tuning_jobs.all() if _wanted(r, given)]
    column = {"Name": "name", "Status": "status", "CreationTime": "creation_time"}[
        given.get("SortBy") or "Name"
    ]
    records.sort(key=lambda r: (getattr(r, column), r.name), reverse=given.get("SortOrder") == "Descending")
    items = []
    for record in records:
        _, counters = _counters(platform, record)
        item = {
            "HyperParameterTuningJobName": record.name,
            "HyperParameterTuningJobArn": record.arn,
            "HyperParameterTuningJobStatus": record.status,
            "Strategy": record.config["Strategy"],
            "CreationTime": record.creation_time,
            "LastModifiedTime": record.last_modified_time,
            **counters,
            "ResourceLimits": record.config["ResourceLimits"],
        }
        if record.end_time is not None:
            item["HyperParameterTuningEndTime"] = record.end_time
        items.append(item)
    paged = _page(items, "HyperParameterTuningJobName", given, given.get("MaxResults") or 100)
    return {"HyperParameterTuningJobSummaries": paged.pop("page"), **paged}


def stop_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.tuning_jobs.stop(
        parse_input("StopHyperParameterTuningJob", payload)["HyperParameterTuningJobName"]
    )
    return {}


def list_trials(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = parse_input("ListTrainingJobsForHyperParameterTuningJob", payload)
    record = platform.tuning_jobs.describe(given["HyperParameterTuningJobName"])
    found = summaries(platform.tuning_jobs, record)
    if given.get("StatusEquals") is not None:
        found = [s for s in found if s["TrainingJobStatus"] == given["StatusEquals"]]
    descending, sort_by = given.get("SortOrder") == "Descending", given.get("SortBy") or "Name"
    if sort_by == "FinalObjectiveMetricValue":
        # Trials without a value come last either way, as in SageMaker's console.
        scored = sorted(
            (s for s in found if objective_value(s) is not None),
            key=objective_value,  # type: ignore[arg-type]
            reverse=descending,
        )
        found = scored + [s for s in found if objective_value(s) is None]
    else:
        member = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
        found.sort(key=lambda s: (s[member[sort_by]], s["TrainingJobName"]), reverse=descending)
    paged = _page(found, "TrainingJobName", given, given.get("MaxResults") or 10)
    return {"TrainingJobSummaries": paged.pop("page"), **paged}


OPERATIONS = {
    "CreateHyperParameterTuningJob": create_tuning_job,
    "DescribeHyperParameterTuningJob": describe_tuning_job,
    "ListHyperParameterTuningJobs": list_tuning_jobs,
    "StopHyperParameterTuningJob": stop_tuning_job,
    "ListTrainingJobsForHyperParameterTuningJob": list_trials,
}
