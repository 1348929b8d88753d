"""SageMaker's tag operations on the wire: AddTags, ListTags, DeleteTags, for any resource's ARN."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from roost.platform.services import Platform
from roost.platform.tags import parse_model, parse_tags

_Arn = Annotated[str, Field(max_length=256, pattern=r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    ResourceArn: _Arn


class AddInput(_Input):
    Tags: list[Any]


class ListInput(_Input):
    NextToken: Annotated[str, Field(max_length=8192)] | None = None
    MaxResults: Annotated[int, Field(ge=50)] = 50


class DeleteInput(_Input):
    TagKeys: list[Any]


def add_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: AddInput = parse_model(AddInput, payload)
    tags = parse_tags(given.Tags)
    platform.tags.add(given.ResourceArn, tags)
    return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}


def list_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: ListInput = parse_model(ListInput, payload)
    # One more than asked: it tells whether there is a next page. The token is the page's last key.
    found = platform.tags.list(given.ResourceArn, after=given.NextToken, limit=given.MaxResults + 1)
    page = found[: given.MaxResults]
    response: dict[str, Any] = {"Tags": page}
    if len(found) > given.MaxResults:
        response["NextToken"] = page[-1]["Key"]
    return response


def delete_tags(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: DeleteInput = parse_model(DeleteInput, payload)
    platform.tags.delete(given.ResourceArn, given.TagKeys)
    return {}


OPERATIONS = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
