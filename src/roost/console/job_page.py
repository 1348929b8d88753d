"""A training job's page: status and its timeline, what was asked for, the artifact, metrics, the chart.

The summary part is a fragment htmx fetches again while the job runs; the chart asks only for the log
events after the last one it has seen, so a long log is read once, not on every update.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from roost.console.job_list import duration
from roost.console.pages import Call, render, whole_number
from roost.errors import UserError
from roost.platform.errors import JobNotFound
from roost.platform.log_streams import LogStream
from roost.platform.services import Platform
from roost.platform.store import JobRecord
from roost.platform.training_metrics import accuracy_by_epoch

_CHUNK = 5000  # log events read per query while the chart catches up


def job_streams(platform: Platform, job_name: str) -> list[LogStream]:
    """A job's log streams, the latest first (CloudWatch's order by last event, descending)."""
    return platform.log_streams.streams(f"{job_name}/", by_last_event=True, descending=True)


def not_found(name: str) -> Response:
    return render("not_found.html", status_code=404, what="training job", name=name)


def _summary_context(platform: Platform, record: JobRecord) -> dict[str, object]:
    return {
        "job": record,
        "duration": duration(record),
        "downloadable": platform.training_jobs.model_artifact_file(record.name) is not None,
        "streams": job_streams(platform, record.name),
    }


def page(platform: Platform, call: Call, error: str | None = None) -> Response:
    name = call.path["name"]
    try:
        record = platform.training_jobs.describe(name)
    except JobNotFound:
        return not_found(name)
    return render(
        "job.html",
        status_code=400 if error else 200,
        error=error,
        request=record.request,
        tags=platform.training_jobs.tags.list(record.arn),
        **_summary_context(platform, record),
    )


def summary(platform: Platform, call: Call) -> Response:
    try:
        record = platform.training_jobs.describe(call.path["name"])
    except JobNotFound:
        return not_found(call.path["name"])
    return render("_job_summary.html", **_summary_context(platform, record))


def accuracy(platform: Platform, call: Call) -> Response:
    """Accuracy by epoch from the log events after `after` (an event id), and the id to ask after next."""
    name = call.path["name"]
    try:
        record = platform.training_jobs.describe(name)
    except JobNotFound:
        return JSONResponse({"message": f"No training job named {name}"}, status_code=404)
    after = whole_number(call.query.get("after", ""), 0)
    streams = [s.name for s in job_streams(platform, name)]
    lines: list[str] = []
    while True:
        # Only lines naming an accuracy leave the store (SQLite filters the rest).
        chunk = platform.log_streams.events(streams, after_id=after, containing="accuracy", limit=_CHUNK)
        lines += [event.message for event in chunk]
        if chunk:
            after = chunk[-1].id
        if len(chunk) < _CHUNK:
            break
    return JSONResponse(
        {
            "after": after,
            "finished": record.finished,
            "epochs": [vars(row) for row in accuracy_by_epoch(lines)],
        }
    )


def model_artifact(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        path: Path | None = platform.training_jobs.model_artifact_file(name)
    except JobNotFound:
        return not_found(name)
    if path is None:
        return render("not_found.html", status_code=404, what="model artifact of training job", name=name)
    return FileResponse(path, media_type="application/gzip", filename="model.tar.gz")


def stop(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        platform.training_jobs.stop(name)
    except JobNotFound:
        return not_found(name)
    except UserError as error:
        return page(platform, call, error=str(error))
    return RedirectResponse(f"/jobs/{name}", status_code=303)
