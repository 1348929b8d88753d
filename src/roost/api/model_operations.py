"""SageMaker's model operations on the wire: CreateModel, DescribeModel, ListModels, DeleteModel."""

from __future__ import annotations

from typing import Any

from roost.api.resource_listing import list_page
from roost.platform.resource_requests import RequestShape, ResourceName, parse
from roost.platform.resource_table import Resource
from roost.platform.service_model import members
from roost.platform.services import Platform


class ModelNameInput(RequestShape):
    ModelName: ResourceName


def describe_response(model: Resource) -> dict[str, Any]:
    wanted = set(members("DescribeModelOutput"))
    return {
        **{k: v for k, v in model.request.items() if k in wanted},
        "ModelName": model.name,
        "ModelArn": model.arn,
        "CreationTime": model.creation_time,
        "EnableNetworkIsolation": model.request.get("EnableNetworkIsolation", False),
    }


def create_model(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"ModelArn": platform.models.create(payload, region).arn}


def describe_model(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse(ModelNameInput, payload).ModelName
    return describe_response(platform.models.describe(name, region))


def list_models(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return list_page(
        payload,
        platform.models.list,
        "Models",
        lambda m: {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time},
    )


def delete_model(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.models.delete(parse(ModelNameInput, payload).ModelName, region)
    return {}


OPERATIONS = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "ListModels": list_models,
    "DeleteModel": delete_model,
}
