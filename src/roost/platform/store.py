"""The platform's state in SQLite (WAL): training jobs here; other resources bring their own tables.

Every state change is one transaction, so a server killed at any moment comes back with each job in a state
it really had. Each thread gets its own connection; WAL lets readers (Describe, List, GetLogEvents) run
while a job writes its log lines.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from roost.platform.errors import JobExists
from roost.platform.lifecycle import JOB, JobStatus, SecondaryStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY COLLATE NOCASE,  -- SageMaker job names are unique regardless of case
    arn TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    secondary_status TEXT NOT NULL,
    transitions TEXT NOT NULL,
    failure_reason TEXT,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    training_start_time REAL,
    training_end_time REAL,
    model_artifacts TEXT,
    final_metrics TEXT NOT NULL,
    pid INTEGER,
    pid_start_ticks INTEGER,
    job_dir TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs (creation_time, name);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, name);
"""


@dataclass
class JobRecord:
    """One training job as stored; names follow DescribeTrainingJob's members."""

    name: str
    arn: str
    request: dict[str, Any]
    status: JobStatus
    secondary_status: SecondaryStatus
    creation_time: float
    last_modified_time: float
    transitions: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None
    training_start_time: float | None = None
    training_end_time: float | None = None
    model_artifacts: str | None = None
    final_metrics: list[dict[str, Any]] = field(default_factory=list)
    pid: int | None = None
    pid_start_ticks: int | None = None
    job_dir: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in JOB.terminal

    @property
    def training_seconds(self) -> int | None:
        """TrainingTimeInSeconds (and BillableTimeInSeconds): whole seconds, at least 1, once it ended."""
        if self.training_start_time is None or self.training_end_time is None:
            return None
        return max(1, round(self.training_end_time - self.training_start_time))


_JSON_COLUMNS = {"request", "transitions", "final_metrics"}
_COLUMNS = [f.name for f in fields(JobRecord)]


def _to_row(record: JobRecord) -> dict[str, Any]:
    return {
        name: json.dumps(getattr(record, name)) if name in _JSON_COLUMNS else getattr(record, name)
        for name in _COLUMNS
    }


def _from_row(row: sqlite3.Row) -> JobRecord:
    values = {name: json.loads(row[name]) if name in _JSON_COLUMNS else row[name] for name in _COLUMNS}
    status, secondary = JobStatus(values.pop("status")), SecondaryStatus(values.pop("secondary_status"))
    return JobRecord(status=status, secondary_status=secondary, **values)


@dataclass(frozen=True)
class JobQuery:
    """ListTrainingJobs' filters, order and page position."""

    name_contains: str | None = None
    status: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    sort_by: str = "CreationTime"
    descending: bool = False
    after: tuple[Any, str] | None = None  # (sort value, name) of the last job of the previous page
    limit: int = 10


_SORT_COLUMNS = {"Name": "name", "CreationTime": "creation_time", "Status": "status"}


def list_sql(table: str, query: JobQuery) -> tuple[str, list[Any]]:
    """The SELECT of a List operation's page over `table`: filters, order, the position after the last page.

    Every resource table has the columns it reads (name, status, creation and modification times)."""
    column = _SORT_COLUMNS[query.sort_by]
    where, parameters = [], []
    if query.name_contains:
        where.append("instr(lower(name), lower(?)) > 0")
        parameters.append(query.name_contains)
    for clause, value in (
        ("status = ?", query.status),
        ("creation_time > ?", query.created_after),
        ("creation_time < ?", query.created_before),
        ("last_modified_time > ?", query.modified_after),
        ("last_modified_time < ?", query.modified_before),
    ):
        if value is not None:
            where.append(clause)
            parameters.append(value)
    direction = "DESC" if query.descending else "ASC"
    if query.after is not None:
        where.append(f"({column}, name) {'<' if query.descending else '>'} (?, ?)")
        parameters.extend(query.after)
    sql = (
        f"SELECT * FROM {table} {'WHERE ' + ' AND '.join(where) if where else ''} "
        f"ORDER BY {column} {direction}, name {direction} LIMIT ?"
    )
    return sql, [*parameters, query.limit]


class Store:
    """SQLite under the state directory; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.ensure_schema(_SCHEMA)

    def ensure_schema(self, sql: str) -> None:
        """Create the tables and indexes of `sql` (CREATE ... IF NOT EXISTS) where they are missing.

        Each resource's module keeps its own tables' schema and calls this once."""
        self._connection().executescript(sql)  # executescript runs in a transaction of its own

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: commits survive a crash of the process; an OS crash may lose the last ones.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): committed at the end, rolled back on any error."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def read(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, parameters).fetchall()

    # -- jobs --------------------------------------------------------------------------------------------

    def create(self, record: JobRecord) -> None:
        row = _to_row(record)
        try:
            with self.write() as db:
                db.execute(
                    f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
        except sqlite3.IntegrityError:
            existing = self.get(record.name)
            arn = existing.arn if existing else record.arn
            raise JobExists(
                "Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({arn})"
            ) from None

    def get(self, name: str) -> JobRecord | None:
        rows = self.read("SELECT * FROM jobs WHERE name = ?", (name,))
        return _from_row(rows[0]) if rows else None

    def query(self, query: JobQuery) -> list[JobRecord]:
        return [_from_row(row) for row in self.read(*list_sql("jobs", query))]

    def unfinished(self) -> list[JobRecord]:
        active = JOB.active()
        rows = self.read(
            f"SELECT * FROM jobs WHERE status IN ({', '.join('?' for _ in active)}) ORDER BY creation_time",
            active,
        )
        return [_from_row(row) for row in rows]

    def transition(
        self,
        name: str,
        *,
        status: JobStatus,
        secondary: SecondaryStatus,
        message: str,
        at: float,
        **changes: Any,
    ) -> JobRecord | None:
        """Move a job to a new (secondary) status in one transaction; None when there is no such job or
        the job lifecycle does not allow the move from its current status (it ended, or is Stopping).

        The previous secondary status gets its EndTime; other columns (failure_reason, ...) change with it.
        """
        with self.write() as db:
            rows = db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchall()
            if not rows:
                return None
            record = _from_row(rows[0])
            if not JOB.allows(record.status, status):
                return None
            if record.transitions and "EndTime" not in record.transitions[-1]:
                record.transitions[-1]["EndTime"] = at
            entry: dict[str, Any] = {"Status": secondary, "StartTime": at, "StatusMessage": message}
            if status in JOB.terminal:
                entry["EndTime"] = at
            record.transitions.append(entry)
            record.status, record.secondary_status = JobStatus(status), SecondaryStatus(secondary)
            record.last_modified_time = at
            for key, value in changes.items():
                setattr(record, key, value)
            row = _to_row(record)
            db.execute(
                f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in row)} WHERE name = ?",
                [*row.values(), name],
            )
            return record

    def update(self, name: str, **changes: Any) -> None:
        """Change columns that are not a state change (the process id, metrics seen so far)."""
        values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in changes.items()]
        with self.write() as db:
            assignments = ", ".join(f"{k} = ?" for k in changes)
            db.execute(f"UPDATE jobs SET {assignments} WHERE name = ?", [*values, name])
