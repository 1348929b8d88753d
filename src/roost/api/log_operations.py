"""CloudWatch Logs' read operations on the platform's log groups, with CloudWatch's paging semantics.

GetLogEvents tokens work as CloudWatch's: `nextForwardToken` of the last page comes back unchanged when no
new event arrived, which is how clients (the SageMaker SDK, `aws logs tail`) know they are at the end.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from roost.platform.api_shapes import parse_input
from roost.platform.errors import InvalidLogParameter, LogResourceNotFound
from roost.platform.log_filter import compile_filter_pattern
from roost.platform.log_streams import TRAINING_LOG_GROUP as LOG_GROUP
from roost.platform.log_streams import LogEvent
from roost.platform.services import Platform
from roost.platform.training_jobs import DEFAULT_ACCOUNT

MAX_RESPONSE_BYTES = 1_048_576  # CloudWatch's page size limit, counting 26 bytes per event
_EVENT_OVERHEAD = 26
_TOKEN = re.compile(r"^([fb])/(\d{1,56})/s$")
_LARGEST_ID = 2**63 - 1  # SQLite's largest integer: event ids, offsets and times stay below it


class _Input(BaseModel):
    # Typed access with CloudWatch's defaults; the constraints are botocore's, checked before (api_shapes).
    model_config = ConfigDict(extra="allow", strict=True)
    logGroupName: str | None = None
    logGroupIdentifier: str | None = None


class DescribeStreamsInput(_Input):
    logStreamNamePrefix: str | None = None
    orderBy: str = "LogStreamName"
    descending: bool = False
    nextToken: str | None = None
    limit: int = 50


class GetEventsInput(_Input):
    logStreamName: str
    startTime: int | None = None
    endTime: int | None = None
    nextToken: str | None = None
    limit: int = 10_000
    startFromHead: bool = False


class FilterEventsInput(_Input):
    logStreamNames: list[str] | None = None
    logStreamNamePrefix: str | None = None
    startTime: int | None = None
    endTime: int | None = None
    filterPattern: str | None = None
    nextToken: str | None = None
    limit: int = 10_000


class DescribeGroupsInput(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    logGroupNamePrefix: str | None = None
    logGroupNamePattern: str | None = None
    nextToken: str | None = None
    limit: int = 50


def _validate(operation: str, model: type[Any], payload: dict[str, Any]) -> Any:
    return model.model_validate(parse_input(operation, payload, service_name="logs"))


def _parse(operation: str, model: type[Any], payload: dict[str, Any], platform: Platform) -> tuple[Any, str]:
    """The request and the log group it names: the training jobs', an endpoint's, the transform jobs'."""
    given = _validate(operation, model, payload)
    group = given.logGroupName or (given.logGroupIdentifier or "").rpartition(":log-group:")[2] or None
    if group is None:
        raise InvalidLogParameter("Either logGroupName or logGroupIdentifier must be given")
    group = group.removesuffix(":*")
    if not platform.log_streams.group_exists(group):
        raise LogResourceNotFound("The specified log group does not exist.")
    return given, group


def _stream_arn(region: str, group: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{DEFAULT_ACCOUNT}:log-group:{group}:log-stream:{name}"


def _offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error):
        offset = -1
    if not 0 <= offset <= _LARGEST_ID:  # forged: nothing the store can take
        raise InvalidLogParameter("The specified nextToken is invalid.")
    return offset


def describe_log_groups(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    """The training jobs' log group, once a job has logged; CloudWatch creates it with the first stream."""
    given: DescribeGroupsInput = _validate("DescribeLogGroups", DescribeGroupsInput, payload)
    if given.logGroupNamePrefix and given.logGroupNamePattern:
        raise InvalidLogParameter("logGroupNamePrefix and logGroupNamePattern cannot both be specified")
    streams = platform.log_streams.streams()
    wanted = (
        LOG_GROUP.startswith(given.logGroupNamePrefix or "")
        and (given.logGroupNamePattern or "").lower() in LOG_GROUP.lower()
    )
    if _offset(given.nextToken) > 0 or not streams or not wanted:
        return {"logGroups": []}
    arn = f"arn:aws:logs:{region}:{DEFAULT_ACCOUNT}:log-group:{LOG_GROUP}"
    group = {
        "logGroupName": LOG_GROUP,
        "creationTime": min(s.creation_time for s in streams),
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "storedBytes": sum(s.stored_bytes for s in streams),
        "logGroupClass": "STANDARD",
        "logGroupArn": arn,
    }
    return {"logGroups": [group]}


def describe_log_streams(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given, group = _parse("DescribeLogStreams", DescribeStreamsInput, payload, platform)
    by_time = given.orderBy == "LastEventTime"
    if by_time and given.logStreamNamePrefix:
        raise InvalidLogParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    start = _offset(given.nextToken)
    streams = platform.log_streams.streams(
        given.logStreamNamePrefix or "",
        group=group,
        by_last_event=by_time,
        descending=given.descending,
        offset=start,
        limit=given.limit + 1,  # one more tells whether there is a next page
    )
    response: dict[str, Any] = {
        "logStreams": [
            {
                "logStreamName": s.name,
                "creationTime": s.creation_time,
                "arn": _stream_arn(region, group, s.name),
                "storedBytes": s.stored_bytes,
                **{
                    key: value
                    for key, value in (
                        ("firstEventTimestamp", s.first_event_timestamp),
                        ("lastEventTimestamp", s.last_event_timestamp),
                        ("lastIngestionTime", s.last_ingestion_time),
                    )
                    if value is not None
                },
            }
            for s in streams[: given.limit]
        ]
    }
    if len(streams) > given.limit:
        response["nextToken"] = _offset_token(start + given.limit)
    return response


def _token(direction: str, event_id: int) -> str:
    return f"{direction}/{event_id:056d}/s"


def _within_size(events: list[LogEvent], newest_first: bool = False) -> list[LogEvent]:
    # Keep whole events up to CloudWatch's 1 MB page, from the end the page is read from.
    kept, size = [], 0
    for event in reversed(events) if newest_first else events:
        size += len(event.message.encode()) + _EVENT_OVERHEAD
        if size > MAX_RESPONSE_BYTES and kept:
            break
        kept.append(event)
    return list(reversed(kept)) if newest_first else kept


def get_log_events(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given, group = _parse("GetLogEvents", GetEventsInput, payload, platform)
    log_streams = platform.log_streams
    if not log_streams.exists(given.logStreamName, group):
        raise LogResourceNotFound("The specified log stream does not exist.")
    window = {"start_ms": given.startTime, "end_ms": given.endTime, "limit": given.limit}
    if given.nextToken is not None:
        match = _TOKEN.match(given.nextToken)
        if match is None or int(match.group(2)) > _LARGEST_ID:
            raise InvalidLogParameter("The specified nextToken is invalid.")
        forward, position = match.group(1) == "f", int(match.group(2))
    else:
        forward, position = given.startFromHead, 0
    streams = [given.logStreamName]
    if forward:
        events = _within_size(log_streams.events(streams, after_id=position, **window))
    else:
        before = position if given.nextToken is not None else None
        newest = log_streams.events(streams, before_id=before, newest_first=True, **window)
        events = _within_size(list(reversed(newest)), newest_first=True)
    if events:
        forward_token, backward_token = _token("f", events[-1].id), _token("b", events[0].id)
    elif forward:
        forward_token, backward_token = _token("f", position), _token("b", position + 1)
    else:
        forward_token, backward_token = _token("f", max(position - 1, 0)), _token("b", position)
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
            for e in events
        ],
        "nextForwardToken": forward_token,
        "nextBackwardToken": backward_token,
    }


def filter_log_events(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given, group = _parse("FilterLogEvents", FilterEventsInput, payload, platform)
    if given.logStreamNames and given.logStreamNamePrefix:
        raise InvalidLogParameter("logStreamNames and logStreamNamePrefix cannot both be specified")
    log_streams = platform.log_streams
    known = [stream.name for stream in log_streams.streams(given.logStreamNamePrefix or "", group=group)]
    streams = [name for name in known if given.logStreamNames is None or name in given.logStreamNames]
    matches = compile_filter_pattern(given.filterPattern)
    found: list[LogEvent] = []
    size, after, exhausted = 0, _offset(given.nextToken), False
    # FilterLogEvents' endTime is inclusive (GetLogEvents' is not); the store's end is exclusive.
    end_ms = given.endTime + 1 if given.endTime is not None and given.endTime < _LARGEST_ID else None
    while streams and len(found) < given.limit and size <= MAX_RESPONSE_BYTES:
        chunk = log_streams.events(
            streams, after_id=after, start_ms=given.startTime, end_ms=end_ms, limit=1000
        )
        if not chunk:
            exhausted = True
            break
        for event in chunk:
            after = event.id
            if matches(event.message):
                found.append(event)
                size += len(event.message.encode()) + _EVENT_OVERHEAD
                if len(found) == given.limit or size > MAX_RESPONSE_BYTES:
                    break
    response: dict[str, Any] = {
        "events": [
            {
                "logStreamName": e.stream,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
                "eventId": str(e.id),
            }
            for e in found
        ],
        "searchedLogStreams": [{"logStreamName": name, "searchedCompletely": True} for name in streams],
    }
    if streams and not exhausted:
        response["nextToken"] = _offset_token(after)
    return response


OPERATIONS = {
    "DescribeLogGroups": describe_log_groups,
    "DescribeLogStreams": describe_log_streams,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
}
