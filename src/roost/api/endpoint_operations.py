"""SageMaker's endpoint configuration and endpoint operations on the wire."""

from __future__ import annotations

from typing import Any

from roost.api.resource_listing import list_page
from roost.platform.resource_requests import RequestShape, ResourceName, parse
from roost.platform.resource_table import Resource
from roost.platform.service_model import members
from roost.platform.services import Platform


class ConfigNameInput(RequestShape):
    EndpointConfigName: ResourceName


class EndpointNameInput(RequestShape):
    EndpointName: ResourceName


def describe_config_response(config: Resource) -> dict[str, Any]:
    wanted = set(members("DescribeEndpointConfigOutput"))
    return {
        **{k: v for k, v in config.request.items() if k in wanted},
        "EndpointConfigName": config.name,
        "EndpointConfigArn": config.arn,
        "CreationTime": config.creation_time,
    }


def describe_endpoint_response(endpoint: Resource) -> dict[str, Any]:
    state = endpoint.state or {}
    response: dict[str, Any] = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": state.get("config_name"),
        "EndpointStatus": endpoint.status,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    }
    if state.get("variants"):
        response["ProductionVariants"] = state["variants"]
    if endpoint.failure_reason:
        response["FailureReason"] = endpoint.failure_reason
    return response


def create_endpoint_config(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"EndpointConfigArn": platform.endpoint_configs.create(payload, region).arn}


def describe_endpoint_config(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse(ConfigNameInput, payload).EndpointConfigName
    return describe_config_response(platform.endpoint_configs.describe(name, region))


def list_endpoint_configs(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return list_page(
        payload,
        platform.endpoint_configs.list,
        "EndpointConfigs",
        lambda c: {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time},
    )


def delete_endpoint_config(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.endpoint_configs.delete(parse(ConfigNameInput, payload).EndpointConfigName, region)
    return {}


def create_endpoint(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"EndpointArn": platform.endpoints.create(payload, region).arn}


def describe_endpoint(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    name = parse(EndpointNameInput, payload).EndpointName
    return describe_endpoint_response(platform.endpoints.describe(name, region))


def list_endpoints(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return list_page(
        payload,
        platform.endpoints.list,
        "Endpoints",
        lambda e: {
            "EndpointName": e.name,
            "EndpointArn": e.arn,
            "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified_time,
            "EndpointStatus": e.status,
        },
    )


def update_endpoint(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    return {"EndpointArn": platform.endpoints.update(payload, region).arn}


def delete_endpoint(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    platform.endpoints.delete(parse(EndpointNameInput, payload).EndpointName, region)
    return {}


OPERATIONS = {
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "DeleteEndpointConfig": delete_endpoint_config,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "ListEndpoints": list_endpoints,
    "UpdateEndpoint": update_endpoint,
    "DeleteEndpoint": delete_endpoint,
}
