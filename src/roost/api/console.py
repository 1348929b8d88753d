"""The web console: the list of training jobs, and a job's status, accuracy by epoch and log.

Plain HTML that refreshes itself while jobs run; the same facts as DescribeTrainingJob and the log stream.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from roost.platform.errors import JobNotFound
from roost.platform.store import JobQuery, JobRecord
from roost.platform.training_jobs import TrainingJobs
from roost.platform.training_metrics import accuracy_by_epoch

Endpoint = Callable[[Request], Awaitable[Response]]
_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #16191f; }
table { border-collapse: collapse; }
td, th { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
.Completed { color: #037f0c; } .Failed { color: #d13212; } .InProgress, .Stopping { color: #0972d3; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; tab-size: 8; }
"""
LOG_LINES_SHOWN = 2000


def _time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _page(title: str, body: str, refresh: bool) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _validation_accuracy(record: JobRecord) -> str:
    values = [m["Value"] for m in record.final_metrics if m["MetricName"] == "validation:accuracy"]
    return f"{values[0]:.4f}" if values else ""


def _list_html(records: list[JobRecord]) -> str:
    rows = "".join(
        f"<tr><td><a href='/jobs/{escape(r.name)}'>{escape(r.name)}</a></td>"
        f"<td class='{r.status}'>{r.status}</td><td>{r.secondary_status}</td>"
        f"<td>{_time(r.creation_time)}</td><td>{_validation_accuracy(r)}</td></tr>"
        for r in records
    )
    return (
        "<h1>Training jobs</h1><table><tr><th>Name</th><th>Status</th><th>Secondary status</th>"
        f"<th>Creation time</th><th>validation:accuracy</th></tr>{rows}</table>"
    )


def job_list(jobs: TrainingJobs) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        query = JobQuery(sort_by="CreationTime", descending=True, limit=100)
        records = await run_in_threadpool(jobs.list, query)
        return _page("Training jobs", _list_html(records), any(not r.finished for r in records))

    return endpoint


def _job_html(record: JobRecord, accuracy_lines: list[str], shown: list[str], total: int) -> str:
    facts = [
        ("Status", f"<span class='{record.status}'>{record.status}</span> ({record.secondary_status})"),
        ("Failure reason", escape(record.failure_reason or "")),
        ("Model artifact", escape(record.model_artifacts or "")),
        ("Instance", escape(record.transitions[0].get("StatusMessage", "") if record.transitions else "")),
        ("Created", _time(record.creation_time)),
        ("Training started", _time(record.training_start_time)),
        ("Training ended", _time(record.training_end_time)),
    ]
    facts_html = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts if v)
    epochs = accuracy_by_epoch(accuracy_lines)
    accuracy_rows = "".join(
        f"<tr><td>{e.epoch}</td><td>{'' if e.train is None else f'{e.train:.6f}'}</td>"
        f"<td>{'' if e.validation is None else f'{e.validation:.6f}'}</td></tr>"
        for e in epochs
    )
    count = f"{total} lines" + (f"; the last {len(shown)} shown" if len(shown) < total else "")
    return (
        f"<p><a href='/'>Training jobs</a></p><h1>{escape(record.name)}</h1><table>{facts_html}</table>"
        "<h2>Accuracy by epoch</h2><table><tr><th>Epoch</th><th>Train-accuracy</th>"
        f"<th>Validation-accuracy</th></tr>{accuracy_rows}</table>"
        f"<h2>Log</h2><p>{count}</p><pre>{escape(chr(10).join(shown))}</pre>"
    )


def job_page(jobs: TrainingJobs) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            record = await run_in_threadpool(jobs.describe, name)
        except JobNotFound:
            return HTMLResponse(f"<h1>No training job named {escape(name)}</h1>", status_code=404)

        def read_log() -> tuple[list[str], list[str], int]:
            # Only the accuracy lines and the tail: a long job's whole log is never read for one page.
            log_streams = jobs.log_streams
            streams = [stream.name for stream in log_streams.streams(f"{record.name}/")]
            accuracy = log_streams.events(streams, containing="-accuracy=", limit=-1)
            tail = log_streams.tail(streams, LOG_LINES_SHOWN)
            return [e.message for e in accuracy], [e.message for e in tail], log_streams.count(streams)

        accuracy_lines, shown, total = await run_in_threadpool(read_log)
        return _page(record.name, _job_html(record, accuracy_lines, shown, total), not record.finished)

    return endpoint
