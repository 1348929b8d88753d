"""SageMaker's training-job operations on the wire: request members in, response members out.

Names and shapes are botocore's (`sagemaker/2017-07-24/service-2.json`); timestamps are epoch seconds, as
the JSON protocol sends them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from roost.platform.api_shapes import parse_input
from roost.platform.errors import InvalidRequest
from roost.platform.service_model import members
from roost.platform.services import Platform
from roost.platform.store import JobQuery, JobRecord
from roost.platform.training_metrics import metric_definitions


def as_described(request: dict[str, Any]) -> dict[str, Any]:
    """A training request's AlgorithmSpecification and OutputDataConfig as SageMaker describes them: the
    built-in algorithm's own metric regexes, whatever the request said, and an empty key as SageMaker shows
    an unencrypted output (Estimator.attach, HyperparameterTuner.attach and TrainingJobAnalytics read
    both)."""
    return {
        "AlgorithmSpecification": {
            **request["AlgorithmSpecification"],
            "MetricDefinitions": metric_definitions(),
            "EnableSageMakerMetricsTimeSeries": False,
        },
        "OutputDataConfig": {"KmsKeyId": "", "CompressionType": "GZIP", **request["OutputDataConfig"]},
    }


def describe_response(record: JobRecord) -> dict[str, Any]:
    """DescribeTrainingJob's members, as SageMaker gives them for a built-in algorithm's job: the request as
    stored, what SageMaker adds to it, then the job's state."""
    wanted = set(members("DescribeTrainingJobResponse"))
    response: dict[str, Any] = {k: v for k, v in record.request.items() if k in wanted}
    response.update(as_described(record.request))
    response.update(
        TrainingJobName=record.name,
        TrainingJobArn=record.arn,
        TrainingJobStatus=record.status,
        SecondaryStatus=record.secondary_status,
        CreationTime=record.creation_time,
        LastModifiedTime=record.last_modified_time,
        SecondaryStatusTransitions=record.transitions,
        FinalMetricDataList=record.final_metrics,
        # Required by the shape; empty until there is an artifact, and for jobs that published none.
        ModelArtifacts={"S3ModelArtifacts": record.model_artifacts or ""},
        ProfilingStatus="Disabled",  # roost runs no profiler, whatever ProfilerConfig says
    )
    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    ):
        response.setdefault(flag, False)
    optional = {
        "FailureReason": record.failure_reason,
        "TrainingStartTime": record.training_start_time,
        "TrainingEndTime": record.training_end_time,
        "TrainingTimeInSeconds": record.training_seconds,
        "BillableTimeInSeconds": record.training_seconds,
    }
    response.update({k: v for k, v in optional.items() if v is not None})
    return response


def create_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"TrainingJobArn": platform.training_jobs.create(payload, region=region).arn}


def describe_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse_input("DescribeTrainingJob", payload)["TrainingJobName"]
    return describe_response(platform.training_jobs.describe(name))


def stop_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.training_jobs.stop(parse_input("StopTrainingJob", payload)["TrainingJobName"])
    return {}


def _decode_token(token: str) -> tuple[Any, str]:
    # A token is (sort value, name) of a page's last job; anything else, forged or damaged, is refused
    # before it reaches the store.
    try:
        value, name = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, RecursionError, binascii.Error):
        value, name = None, None
    sortable = isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )
    if not (sortable and isinstance(name, str)) or (isinstance(value, int) and abs(value) >= 2**63):
        raise InvalidRequest("Invalid pagination token (NextToken): pass the one the last call returned")
    return value, name


def _encode_token(value: Any, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, name]).encode()).decode()


_SORT_VALUE = {"Name": "name", "CreationTime": "creation_time", "Status": "status"}


def list_training_jobs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = parse_input("ListTrainingJobs", payload)
    most, sort_by = given.get("MaxResults") or 10, given.get("SortBy") or "CreationTime"
    token = given.get("NextToken")
    query = JobQuery(
        name_contains=given.get("NameContains"),
        status=given.get("StatusEquals"),
        created_after=given.get("CreationTimeAfter"),
        created_before=given.get("CreationTimeBefore"),
        modified_after=given.get("LastModifiedTimeAfter"),
        modified_before=given.get("LastModifiedTimeBefore"),
        sort_by=sort_by,
        descending=given.get("SortOrder") == "Descending",
        after=_decode_token(token) if token else None,
        # One more than asked: it tells whether there is a next page.
        limit=most + 1,
    )
    records = platform.training_jobs.list(query)
    page = records[:most]
    response: dict[str, Any] = {
        "TrainingJobSummaries": [
            {
                "TrainingJobName": r.name,
                "TrainingJobArn": r.arn,
                "CreationTime": r.creation_time,
                "LastModifiedTime": r.last_modified_time,
                "TrainingJobStatus": r.status,
                "SecondaryStatus": r.secondary_status,
                **({"TrainingEndTime": r.training_end_time} if r.training_end_time else {}),
            }
            for r in page
        ]
    }
    if len(records) > most:
        last = page[-1]
        response["NextToken"] = _encode_token(getattr(last, _SORT_VALUE[sort_by]), last.name)
    return response


OPERATIONS = {
    "CreateTrainingJob": create_training_job,
    "DescribeTrainingJob": describe_training_job,
    "ListTrainingJobs": list_training_jobs,
    "StopTrainingJob": stop_training_job,
}
