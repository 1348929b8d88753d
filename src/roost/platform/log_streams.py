"""Log streams: CloudWatch's names and shapes, one event per line as the algorithm printed it.

The one door to the log tables: the job driver writes a stream through `LogStreamWriter`; the front doors
(CloudWatch Logs' operations, the console, the CLI) read through `LogStreams` and never touch the store.
A training job's stream is `<job-name>/algo-1-<epoch-seconds>` (the time the algorithm started) in the log
group `/aws/sagemaker/TrainingJobs`; other resources write to groups of their own (SageMaker's
`/aws/sagemaker/Endpoints/<name>`, `/aws/sagemaker/TransformJobs`), which exist once they hold a stream.
Lines keep their tabs (CloudWatch shows them as `#011` in its console; the API returns them as is). Event
ids grow in the order events were written, so an id is a position to page from.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from roost.platform.store import Store

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# CloudWatch's largest event is 256 KiB including 26 bytes of overhead; longer lines are cut to fit.
MAX_MESSAGE_BYTES = 262_144 - 26

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_streams (
    name TEXT PRIMARY KEY,
    log_group TEXT NOT NULL DEFAULT '/aws/sagemaker/TrainingJobs',
    job_name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    first_event_timestamp INTEGER,
    last_event_timestamp INTEGER,
    last_ingestion_time INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream, id);
"""


def stream_name(job_name: str, started_at: float) -> str:
    return f"{job_name}/algo-1-{int(started_at)}"


def milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


@dataclass(frozen=True)
class LogStream:
    """One stream, in DescribeLogStreams' terms (times in epoch milliseconds)."""

    name: str
    log_group: str
    job_name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int


@dataclass(frozen=True)
class LogEvent:
    id: int
    stream: str
    timestamp: int
    ingestion_time: int
    message: str


class LogStreams:
    """Reading the log group: streams by prefix and order, events by position and time, a stream's tail."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema(_SCHEMA)
        columns = {row["name"] for row in store.read("PRAGMA table_info(log_streams)")}
        if "log_group" not in columns:  # a state directory from before there were other log groups
            with store.write() as db:
                db.execute(
                    "ALTER TABLE log_streams ADD COLUMN log_group TEXT NOT NULL "
                    f"DEFAULT '{TRAINING_LOG_GROUP}'"
                )

    def streams(
        self,
        prefix: str = "",
        *,
        group: str = TRAINING_LOG_GROUP,
        by_last_event: bool = False,
        descending: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[LogStream]:
        """The group's streams whose name starts with `prefix`, by name or by last event time, `limit` from
        `offset` (-1: all)."""
        direction = "DESC" if descending else "ASC"
        order = f"coalesce(last_event_timestamp, creation_time) {direction}, " if by_last_event else ""
        rows = self.store.read(
            "SELECT * FROM log_streams WHERE log_group = ? AND substr(name, 1, ?) = ? "
            f"ORDER BY {order}name {direction} LIMIT ? OFFSET ?",
            (group, len(prefix), prefix, limit, offset),
        )
        return [LogStream(**dict(row)) for row in rows]

    def exists(self, name: str, group: str = TRAINING_LOG_GROUP) -> bool:
        rows = self.store.read("SELECT 1 FROM log_streams WHERE name = ? AND log_group = ?", (name, group))
        return bool(rows)

    def group_exists(self, group: str) -> bool:
        """The training jobs' group always exists; another one once a stream was written to it."""
        return group == TRAINING_LOG_GROUP or bool(
            self.store.read("SELECT 1 FROM log_streams WHERE log_group = ? LIMIT 1", (group,))
        )

    def events(
        self,
        streams: Sequence[str],
        *,
        after_id: int | None = None,
        before_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        containing: str | None = None,
        limit: int,
        newest_first: bool = False,
    ) -> list[LogEvent]:
        """Up to `limit` events (-1: all) of `streams` after/before an event id, from `start_ms` up to (not
        including) `end_ms`, whose message contains `containing`; oldest first unless `newest_first`."""
        if not streams:
            return []
        where = [f"stream IN ({', '.join('?' for _ in streams)})"]
        parameters: list[Any] = list(streams)
        for clause, value in (
            ("id > ?", after_id),
            ("id < ?", before_id),
            ("timestamp >= ?", start_ms),
            ("timestamp < ?", end_ms),
            ("instr(message, ?) > 0", containing),
        ):
            if value is not None:
                where.append(clause)
                parameters.append(value)
        rows = self.store.read(
            f"SELECT * FROM log_events WHERE {' AND '.join(where)} "
            f"ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?",
            [*parameters, limit],
        )
        return [LogEvent(**dict(row)) for row in rows]

    def tail(self, streams: Sequence[str], count: int) -> list[LogEvent]:
        """The last `count` events of `streams`, oldest first, read from the end (not the whole stream)."""
        return list(reversed(self.events(streams, limit=count, newest_first=True)))

    def count(self, streams: Sequence[str]) -> int:
        """How many events `streams` hold (counted on the index, no message is read)."""
        if not streams:
            return 0
        rows = self.store.read(
            f"SELECT count(*) FROM log_events WHERE stream IN ({', '.join('?' for _ in streams)})", streams
        )
        return int(rows[0][0])

    def writer(
        self, job_name: str, started_at: float, *, group: str = TRAINING_LOG_GROUP, name: str | None = None
    ) -> LogStreamWriter:
        """A new stream for the process of `job_name` that started at `started_at`."""
        return LogStreamWriter(self.store, job_name, started_at, group=group, name=name)


class LogStreamWriter:
    """Appends the lines of one process to its stream as they arrive: a training job's stream, unless
    another group and stream name are given."""

    def __init__(
        self,
        store: Store,
        job_name: str,
        started_at: float,
        *,
        group: str = TRAINING_LOG_GROUP,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.name = name or stream_name(job_name, started_at)
        with store.write() as db:
            db.execute(
                "INSERT INTO log_streams (name, log_group, job_name, creation_time) VALUES (?, ?, ?, ?)",
                (self.name, group, job_name, milliseconds(started_at)),
            )

    def write(self, line: str, at: float | None = None) -> None:
        message = line.rstrip("\r\n")
        if not message:  # CloudWatch events are never empty
            return
        encoded = message.encode()
        if len(encoded) > MAX_MESSAGE_BYTES:
            message = encoded[:MAX_MESSAGE_BYTES].decode(errors="ignore")
        now = time.time()
        self.append([(milliseconds(at or now), message)], milliseconds(now))

    def append(self, events: Sequence[tuple[int, str]], ingestion_time_ms: int) -> None:
        """Append (timestamp ms, message) events, in order, in one transaction."""
        if not events:
            return
        with self.store.write() as db:
            db.executemany(
                "INSERT INTO log_events (stream, timestamp, ingestion_time, message) VALUES (?, ?, ?, ?)",
                [(self.name, timestamp, ingestion_time_ms, message) for timestamp, message in events],
            )
            db.execute(
                "UPDATE log_streams SET first_event_timestamp = coalesce(first_event_timestamp, ?), "
                "last_event_timestamp = ?, last_ingestion_time = ?, stored_bytes = stored_bytes + ? "
                "WHERE name = ?",
                (
                    events[0][0],
                    events[-1][0],
                    ingestion_time_ms,
                    sum(len(m.encode()) for _, m in events),
                    self.name,
                ),
            )
