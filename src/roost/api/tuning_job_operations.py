"""SageMaker's hyperparameter tuning operations on the wire: request members in, response members out.

Names and shapes are botocore's (`sagemaker/2017-07-24/service-2.json`); timestamps are epoch seconds.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import Field

from roost.api.training_job_operations import _decode_token, _encode_token, _Input, _parse, as_described
from roost.platform.services import Platform
from roost.platform.tuning_jobs import TuningJobRecord
from roost.platform.tuning_request import TUNING_JOB_NAME_PATTERN
from roost.platform.tuning_results import (
    best,
    not_improving,
    objective_counters,
    objective_value,
    overall_best,
    status_counters,
    summaries,
)

TuningJobName = Annotated[str, Field(min_length=1, max_length=32, pattern=f"^{TUNING_JOB_NAME_PATTERN}$")]
PageSize = Annotated[int, Field(ge=1, le=100)]
Order = Literal["Ascending", "Descending"]


class NameInput(_Input):
    HyperParameterTuningJobName: TuningJobName


class ListInput(_Input):
    NextToken: Annotated[str, Field(max_length=8192)] | None = None
    MaxResults: PageSize = 100
    SortBy: Literal["Name", "Status", "CreationTime"] = "Name"
    SortOrder: Order = "Ascending"
    NameContains: Annotated[str, Field(max_length=63, pattern=r"^[a-zA-Z0-9\-]+$")] | None = None
    CreationTimeAfter: float | None = None
    CreationTimeBefore: float | None = None
    LastModifiedTimeAfter: float | None = None
    LastModifiedTimeBefore: float | None = None
    StatusEquals: Literal["Completed", "InProgress", "Failed", "Stopped", "Stopping"] | None = None


class ListTrialsInput(NameInput):
    NextToken: Annotated[str, Field(max_length=8192)] | None = None
    MaxResults: PageSize = 10
    StatusEquals: Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"] | None = None
    SortBy: Literal["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"] = "Name"
    SortOrder: Order = "Ascending"


def _page(items: list[dict[str, Any]], key: str, given: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `items` (sorted, each with a unique `key`), and the token of the next one."""
    start = 0
    if given.NextToken:
        _, after = _decode_token(given.NextToken)
        start = next((i + 1 for i, item in enumerate(items) if item[key] == after), len(items))
    page = items[start : start + given.MaxResults]
    more = start + given.MaxResults < len(items)
    return page, _encode_token(None, page[-1][key]) if more and page else None


def _counters(platform: Platform, record: TuningJobRecord) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    found = summaries(platform.tuning_jobs, record)
    counters = {
        "TrainingJobStatusCounters": status_counters(found),
        "ObjectiveStatusCounters": objective_counters(found),
    }
    return found, counters


def create_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"HyperParameterTuningJobArn": platform.tuning_jobs.create(payload, region=region).arn}


def describe_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    record = platform.tuning_jobs.describe(_parse(NameInput, payload).HyperParameterTuningJobName)
    found, counters = _counters(platform, record)
    ended = record.end_time or time.time()
    definition = record.request["TrainingJobDefinition"]
    response: dict[str, Any] = {
        **record.request,
        "TrainingJobDefinition": {**definition, **as_described(definition)},
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


def list_tuning_jobs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = _parse(ListInput, payload)
    records = [
        r
        for r in platform.tuning_jobs.all()
        if (not given.NameContains or given.NameContains.lower() in r.name.lower())
        and (given.StatusEquals is None or r.status == given.StatusEquals)
        and (given.CreationTimeAfter is None or r.creation_time > given.CreationTimeAfter)
        and (given.CreationTimeBefore is None or r.creation_time < given.CreationTimeBefore)
        and (given.LastModifiedTimeAfter is None or r.last_modified_time > given.LastModifiedTimeAfter)
        and (given.LastModifiedTimeBefore is None or r.last_modified_time < given.LastModifiedTimeBefore)
    ]
    column = {"Name": "name", "Status": "status", "CreationTime": "creation_time"}[given.SortBy]
    records.sort(key=lambda r: (getattr(r, column), r.name), reverse=given.SortOrder == "Descending")
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
    page, token = _page(items, "HyperParameterTuningJobName", given)
    return {"HyperParameterTuningJobSummaries": page, **({"NextToken": token} if token else {})}


def stop_tuning_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.tuning_jobs.stop(_parse(NameInput, payload).HyperParameterTuningJobName)
    return {}


def list_trials(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = _parse(ListTrialsInput, payload)
    record = platform.tuning_jobs.describe(given.HyperParameterTuningJobName)
    found = summaries(platform.tuning_jobs, record)
    if given.StatusEquals is not None:
        found = [s for s in found if s["TrainingJobStatus"] == given.StatusEquals]
    descending = given.SortOrder == "Descending"
    if given.SortBy == "FinalObjectiveMetricValue":
        # Trials without a value come last either way, as in SageMaker's console.
        scored = sorted(
            (s for s in found if objective_value(s) is not None),
            key=objective_value,  # type: ignore[arg-type]
            reverse=descending,
        )
        found = scored + [s for s in found if objective_value(s) is None]
    else:
        member = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
        found.sort(key=lambda s: (s[member[given.SortBy]], s["TrainingJobName"]), reverse=descending)
    page, token = _page(found, "TrainingJobName", given)
    return {"TrainingJobSummaries": page, **({"NextToken": token} if token else {})}


OPERATIONS = {
    "CreateHyperParameterTuningJob": create_tuning_job,
    "DescribeHyperParameterTuningJob": describe_tuning_job,
    "ListHyperParameterTuningJobs": list_tuning_jobs,
    "StopHyperParameterTuningJob": stop_tuning_job,
    "ListTrainingJobsForHyperParameterTuningJob": list_trials,
}
