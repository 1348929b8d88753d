"""SageMaker's tag operations on the wire: AddTags, ListTags, DeleteTags, for any resource's ARN."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from roost.platform.api_shapes import parse_input
from roost.platform.services import Platform
from roost.platform.tags import parse_model, parse_tags


class _Input(BaseModel):
    # Typed access; the constraints are botocore's, checked before (api_shapes).
    model_config = ConfigDict(extra="allow", strict=True)
    ResourceArn: str


class AddInput(_Input):
    Tags: list[Any]


class ListInput(_Input):
    NextToken: str | None = None
    MaxResults: int = 50


class DeleteInput(_Input):
    TagKeys: list[Any]


def add_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: AddInput = parse_model(AddInput, parse_input("AddTags", payload))
    tags = parse_tags(given.Tags)
    platform.tags.add(given.ResourceArn, tags)
    return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}


def list_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: ListInput = parse_model(ListInput, parse_input("ListTags", payload))
    # One more than asked: it tells whether there is a next page. The token is the page's last key.
    found = platform.tags.list(given.ResourceArn, after=given.NextToken, limit=given.MaxResults + 1)
    page = found[: given.MaxResults]
    response: dict[str, Any] = {"Tags": page}
    if len(found) > given.MaxResults:
        response["NextToken"] = page[-1]["Key"]
    return response


def delete_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: DeleteInput = parse_model(DeleteInput, parse_input("DeleteTags", payload))
    platform.tags.delete(given.ResourceArn, given.TagKeys)
    return {}


OPERATIONS = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
