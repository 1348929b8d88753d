"""SageMaker's training-job operations on the wire: request members in, response members out.

Names and shapes are botocore's (`sagemaker/2017-07-24/service-2.json`); timestamps are epoch seconds, as
the JSON protocol sends them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from roost.platform.errors import InvalidRequest
from roost.platform.request import JOB_NAME_PATTERN, validation_message
from roost.platform.service_model import members
from roost.platform.services import Platform
from roost.platform.store import JobQuery, JobRecord
from roost.platform.training_metrics import metric_definitions

JobName = Annotated[str, Field(min_length=1, max_length=63, pattern=f"^{JOB_NAME_PATTERN}$")]
ModelT = TypeVar("ModelT", bound=BaseModel)
Status = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class JobNameInput(_Input):
    TrainingJobName: JobName


class ListInput(_Input):
    NextToken: Annotated[str, Field(max_length=8192)] | None = None
    MaxResults: Annotated[int, Field(ge=1, le=100)] = 10
    CreationTimeAfter: float | None = None
    CreationTimeBefore: float | None = None
    LastModifiedTimeAfter: float | None = None
    LastModifiedTimeBefore: float | None = None
    NameContains: Annotated[str, Field(max_length=63, pattern=r"^[a-zA-Z0-9\-]+$")] | None = None
    StatusEquals: Status | None = None
    SortBy: Literal["Name", "CreationTime", "Status"] = "CreationTime"
    SortOrder: Literal["Ascending", "Descending"] = "Ascending"


def _parse(model: type[ModelT], payload: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None


def _training_seconds(record: JobRecord) -> int | None:
    if record.training_start_time is None or record.training_end_time is None:
        return None
    return max(1, round(record.training_end_time - record.training_start_time))


def as_described(request: dict[str, Any]) -> dict[str, Any]:
    """A training request's AlgorithmSpecification and OutputDataConfig as SageMaker describes them: with the
    built-in algorithm's metric regexes, and an empty key for an unencrypted output (Estimator.attach,
    HyperparameterTuner.attach and TrainingJobAnalytics read both)."""
    return {
        "AlgorithmSpecification": {
            "MetricDefinitions": metric_definitions(),
            **request["AlgorithmSpecification"],
        },
        "OutputDataConfig": {"KmsKeyId": "", **request["OutputDataConfig"]},
    }


def describe_response(record: JobRecord) -> dict[str, Any]:
    """DescribeTrainingJob's members: the request as stored, then the job's state."""
    wanted = set(members("DescribeTrainingJobResponse"))
    response: dict[str, Any] = {k: v for k, v in record.request.items() if k in wanted}
    response.update(
        TrainingJobName=record.name,
        TrainingJobArn=record.arn,
        TrainingJobStatus=record.status,
        SecondaryStatus=record.secondary_status,
        CreationTime=record.creation_time,
        LastModifiedTime=record.last_modified_time,
        SecondaryStatusTransitions=record.transitions,
        FinalMetricDataList=record.final_metrics,
        **as_described(record.request),
    )
    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    ):
        response.setdefault(flag, False)
    optional = {
        "ModelArtifacts": {"S3ModelArtifacts": record.model_artifacts} if record.model_artifacts else None,
        "FailureReason": record.failure_reason,
        "TrainingStartTime": record.training_start_time,
        "TrainingEndTime": record.training_end_time,
        "TrainingTimeInSeconds": _training_seconds(record),
        "BillableTimeInSeconds": _training_seconds(record),
    }
    response.update({k: v for k, v in optional.items() if v is not None})
    return response


def create_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"TrainingJobArn": platform.training_jobs.create(payload, region=region).arn}


def describe_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return describe_response(platform.training_jobs.describe(_parse(JobNameInput, payload).TrainingJobName))


def stop_training_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.training_jobs.stop(_parse(JobNameInput, payload).TrainingJobName)
    return {}


def _decode_token(token: str) -> tuple[Any, str]:
    try:
        value, name = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest(
            "Invalid pagination token (NextToken): pass the one the last call returned"
        ) from None
    return value, name


def _encode_token(value: Any, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, name]).encode()).decode()


_SORT_VALUE = {"Name": "name", "CreationTime": "creation_time", "Status": "status"}


def list_training_jobs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given = _parse(ListInput, payload)
    query = JobQuery(
        name_contains=given.NameContains,
        status=given.StatusEquals,
        created_after=given.CreationTimeAfter,
        created_before=given.CreationTimeBefore,
        modified_after=given.LastModifiedTimeAfter,
        modified_before=given.LastModifiedTimeBefore,
        sort_by=given.SortBy,
        descending=given.SortOrder == "Descending",
        after=_decode_token(given.NextToken) if given.NextToken else None,
        # One more than asked: it tells whether there is a next page.
        limit=given.MaxResults + 1,
    )
    records = platform.training_jobs.list(query)
    page = records[: given.MaxResults]
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
    if len(records) > given.MaxResults:
        last = page[-1]
        response["NextToken"] = _encode_token(getattr(last, _SORT_VALUE[given.SortBy]), last.name)
    return response


OPERATIONS = {
    "CreateTrainingJob": create_training_job,
    "DescribeTrainingJob": describe_training_job,
    "ListTrainingJobs": list_training_jobs,
    "StopTrainingJob": stop_training_job,
}
