"""The List operations of named resources (ListModels, ListEndpointConfigs, ListEndpoints): SageMaker's
filters, order and NextToken pages over the platform's resource tables."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from roost.platform.errors import InvalidRequest
from roost.platform.resource_requests import RequestShape, parse
from roost.platform.resource_table import Resource
from roost.platform.store import JobQuery


class ListInput(RequestShape):
    NextToken: Annotated[str, Field(max_length=8192)] | None = None
    MaxResults: Annotated[int, Field(ge=1, le=100)] = 10
    CreationTimeAfter: float | None = None
    CreationTimeBefore: float | None = None
    LastModifiedTimeAfter: float | None = None
    LastModifiedTimeBefore: float | None = None
    NameContains: Annotated[str, Field(max_length=63, pattern=r"^[a-zA-Z0-9\-]+$")] | None = None
    StatusEquals: str | None = None
    SortBy: Literal["Name", "CreationTime", "Status"] = "CreationTime"
    SortOrder: Literal["Ascending", "Descending"] = "Descending"


_SORT_VALUE = {"Name": "name", "CreationTime": "creation_time", "Status": "status"}


def _after(token: str | None) -> tuple[Any, str] | None:
    if token is None:
        return None
    try:
        value, name = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest(
            "Invalid pagination token (NextToken): pass the one the last call returned"
        ) from None
    return value, name


def list_page(
    payload: dict[str, Any],
    list_resources: Callable[[JobQuery], list[Resource]],
    key: str,
    summary: Callable[[Resource], dict[str, Any]],
) -> dict[str, Any]:
    """One page of summaries under `key`, with NextToken when there are more."""
    given: ListInput = parse(ListInput, payload)
    records = list_resources(
        JobQuery(
            name_contains=given.NameContains,
            status=given.StatusEquals,
            created_after=given.CreationTimeAfter,
            created_before=given.CreationTimeBefore,
            modified_after=given.LastModifiedTimeAfter,
            modified_before=given.LastModifiedTimeBefore,
            sort_by=given.SortBy,
            descending=given.SortOrder == "Descending",
            after=_after(given.NextToken),
            limit=given.MaxResults + 1,  # one more than asked: it tells whether there is a next page
        )
    )
    page = records[: given.MaxResults]
    response: dict[str, Any] = {key: [summary(r) for r in page]}
    if len(records) > given.MaxResults:
        last = page[-1]
        position = [getattr(last, _SORT_VALUE[given.SortBy]), last.name]
        response["NextToken"] = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
    return response
