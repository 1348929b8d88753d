"""SageMaker's transform-job operations on the wire: create, describe, list, stop."""

from __future__ import annotations

from typing import Any

from roost.api.resource_listing import list_page
from roost.platform.resource_requests import RequestShape, ResourceName, parse
from roost.platform.resource_table import Resource
from roost.platform.service_model import members
from roost.platform.services import Platform


class JobNameInput(RequestShape):
    TransformJobName: ResourceName


def describe_response(job: Resource) -> dict[str, Any]:
    wanted = set(members("DescribeTransformJobResponse"))
    state = job.state or {}
    optional = {
        "FailureReason": job.failure_reason,
        "TransformStartTime": state.get("start_time"),
        "TransformEndTime": state.get("end_time"),
    }
    return {
        **{k: v for k, v in job.request.items() if k in wanted},
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "TransformJobStatus": job.status,
        "CreationTime": job.creation_time,
        **{k: v for k, v in optional.items() if v is not None},
    }


def _summary(job: Resource) -> dict[str, Any]:
    summary = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TransformJobStatus": job.status,
    }
    if (job.state or {}).get("end_time"):
        summary["TransformEndTime"] = job.state["end_time"]  # type: ignore[index]
    if job.failure_reason:
        summary["FailureReason"] = job.failure_reason
    return summary


def create_transform_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"TransformJobArn": platform.transform_jobs.create(payload, region).arn}


def describe_transform_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse(JobNameInput, payload).TransformJobName
    return describe_response(platform.transform_jobs.describe(name, region))


def list_transform_jobs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return list_page(payload, platform.transform_jobs.list, "TransformJobSummaries", _summary)


def stop_transform_job(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.transform_jobs.stop(parse(JobNameInput, payload).TransformJobName, region)
    return {}


OPERATIONS = {
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": describe_transform_job,
    "ListTransformJobs": list_transform_jobs,
    "StopTransformJob": stop_transform_job,
}
