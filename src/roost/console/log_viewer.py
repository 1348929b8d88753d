"""Logs as CloudWatch shows them: a job's log streams, latest first, and a viewer with a filter box.

The viewer's lines come in pages after an event id; the last page ends with a poller that htmx replaces by
the next page, so a running job's log tails itself and each update reads only the events after the last
one shown. The filter box takes FilterLogEvents' term patterns (`"Validation-accuracy"`, `?a ?b`, `-x`).
"""

from __future__ import annotations

from starlette.responses import Response

from roost.console.job_page import job_streams, not_found
from roost.console.pages import Call, render, whole_number
from roost.errors import UserError
from roost.platform.errors import JobNotFound
from roost.platform.log_filter import compile_filter_pattern
from roost.platform.log_streams import TRAINING_LOG_GROUP
from roost.platform.services import Platform

PAGE_EVENTS = 1000  # events read per request; a longer log arrives in several pages, one after the other


def streams(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        record = platform.training_jobs.describe(name)
    except JobNotFound:
        return not_found(name)
    return render(
        "log_streams.html", job=record, group=TRAINING_LOG_GROUP, streams=job_streams(platform, name)
    )


def _job_of(stream: str) -> str:
    return stream.partition("/")[0]


def _page(platform: Platform, call: Call) -> dict[str, object]:
    """The next page of a stream's lines that match the filter, and where the one after starts."""
    stream = call.query.get("name", "")
    pattern = call.query.get("filter", "")
    after = whole_number(call.query.get("after", ""), 0)
    try:
        matches = compile_filter_pattern(pattern)
    except UserError as error:
        return {
            "stream": stream,
            "pattern": pattern,
            "events": [],
            "after": after,
            "more": False,
            "live": False,
            "problem": str(error),
        }
    chunk = platform.log_streams.events([stream], after_id=after, limit=PAGE_EVENTS)
    try:
        live = not platform.training_jobs.describe(_job_of(stream)).finished
    except JobNotFound:
        live = False
    return {
        "stream": stream,
        "pattern": pattern,
        "events": [event for event in chunk if matches(event.message)],
        "after": chunk[-1].id if chunk else after,
        "more": len(chunk) == PAGE_EVENTS,
        "live": live,
        "problem": None,
    }


def stream(platform: Platform, call: Call) -> Response:
    name = call.query.get("name", "")
    job_name = _job_of(name)
    if name not in {s.name for s in job_streams(platform, job_name)}:
        return render("not_found.html", status_code=404, what="log stream", name=name)
    page = _page(platform, call)
    return render("log_stream.html", group=TRAINING_LOG_GROUP, job_name=job_name, **page)


def events(platform: Platform, call: Call) -> Response:
    return render("_log_lines.html", **_page(platform, call))
