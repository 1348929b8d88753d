"""The console's one way into the log streams: a job's streams, and events after a position.

Every page that shows log lines (the viewer, its live tail, the accuracy chart) reads through these two
functions, so moving to the platform's log-streams API is a change here only.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.platform.services import Platform
from roost.platform.store import LogEvent


@dataclass(frozen=True)
class StreamInfo:
    name: str
    creation_time_ms: int
    last_event_time_ms: int | None
    stored_bytes: int


def job_streams(platform: Platform, job_name: str) -> list[StreamInfo]:
    """A job's log streams, the latest first (CloudWatch's order by last event, descending)."""
    rows = platform.training_jobs.store.streams(f"{job_name}/", order_by_last_event=False)
    streams = [
        StreamInfo(r["name"], r["creation_time"], r["last_event_timestamp"], r["stored_bytes"]) for r in rows
    ]
    return sorted(streams, key=lambda s: (s.last_event_time_ms or s.creation_time_ms, s.name), reverse=True)


def events_after(platform: Platform, streams: list[str], after_id: int, limit: int) -> list[LogEvent]:
    """Up to `limit` events of `streams` after event id `after_id`, oldest first."""
    if not streams:
        return []
    return platform.training_jobs.store.events(streams, after_id=after_id, limit=limit)
