"""Hyperparameter tuning jobs: create, describe, list, stop, and the trials of each.

A tuning job is a job (lifecycle.JOB: InProgress -> Completed | Failed | Stopping -> Stopped) whose trials
are ordinary training jobs, created through `TrainingJobs.create` and run by the platform's queue. A trial's
state is its training job's; this module's tables only say which training jobs belong to which tuning job,
with the values the search gave them. `tuning_driver.TuningDriver` runs the search.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from roost.platform.errors import InvalidRequest, JobExists, ResourceNotFound
from roost.platform.lifecycle import JOB, JobStatus
from roost.platform.store import JobRecord
from roost.platform.tags import MAX_TAGS, parse_tags
from roost.platform.training_jobs import TrainingJobs, job_arn
from roost.platform.tuning_request import TuningPlan, parse_tuning_request, trial_request
from roost.platform.tuning_search import parse_ranges

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tuning_jobs (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    region TEXT NOT NULL,
    request TEXT NOT NULL,
    max_jobs INTEGER NOT NULL,  -- MaxNumberOfTrainingJobs, or Grid's number of combinations
    status TEXT NOT NULL,
    failure_reason TEXT,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    end_time REAL
);
CREATE TABLE IF NOT EXISTS tuning_trials (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    tuning_job TEXT NOT NULL COLLATE NOCASE,
    number INTEGER NOT NULL,
    params TEXT NOT NULL,
    tuned TEXT NOT NULL,
    early_stopped INTEGER NOT NULL DEFAULT 0,
    creation_time REAL NOT NULL,
    UNIQUE (tuning_job, number)
);
"""
_ACTIVE = JOB.active()


@dataclass
class TuningJobRecord:
    name: str
    arn: str
    region: str
    request: dict[str, Any]
    max_jobs: int
    status: str
    creation_time: float
    last_modified_time: float
    failure_reason: str | None = None
    end_time: float | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.request["HyperParameterTuningJobConfig"]

    @property
    def objective(self) -> dict[str, Any]:
        return self.config["HyperParameterTuningJobObjective"]

    @property
    def maximize(self) -> bool:
        return self.objective["Type"] == "Maximize"

    @property
    def max_parallel(self) -> int:
        return self.config["ResourceLimits"]["MaxParallelTrainingJobs"]


@dataclass
class Trial:
    """A trial: its row here and its training job (None only between the two writes that create it)."""

    name: str
    tuning_job: str
    number: int
    params: dict[str, Any]
    tuned: dict[str, str]
    early_stopped: bool
    creation_time: float
    job: JobRecord | None = field(default=None)

    def objective(self, metric: str) -> float | None:
        if self.job is None:
            return None
        return next((m["Value"] for m in self.job.final_metrics if m["MetricName"] == metric), None)

    def objective_status(self, metric: str) -> str:
        if self.job is None or not self.job.finished:
            return "Pending"
        ended_well = self.job.status in (JobStatus.COMPLETED, JobStatus.STOPPED)
        return "Succeeded" if ended_well and self.objective(metric) is not None else "Failed"


def _record(row: sqlite3.Row) -> TuningJobRecord:
    return TuningJobRecord(**{**dict(row), "request": json.loads(row["request"])})


def trial_name(tuning_job: str, number: int) -> str:
    """SageMaker's trial names: `<tuning job>-<NNN>-<8 hex digits>`."""
    return f"{tuning_job}-{number:03d}-{uuid.uuid4().hex[:8]}"


class TuningJobs:
    """Tuning jobs in the training jobs' store; their trials are the training jobs' own records."""

    def __init__(self, training_jobs: TrainingJobs) -> None:
        self.training_jobs = training_jobs
        self.store = training_jobs.store
        self.store.ensure_schema(_SCHEMA)
        self.tags = training_jobs.tags
        self.tags.register("hyper-parameter-tuning-job", self._exists)
        self.wake = lambda: None  # the driver replaces this, to start new work at once

    def _exists(self, arn: str) -> bool:
        return bool(self.store.read("SELECT 1 FROM tuning_jobs WHERE arn = ?", (arn,)))

    # -- operations --------------------------------------------------------------------------------------

    def create(self, raw: Any, *, region: str) -> TuningJobRecord:
        plan = parse_tuning_request(raw)
        tags = parse_tags(raw.get("Tags", []))  # checked before the job exists: a bad tag stores nothing
        for parent in (plan.warm_start or {}).get("ParentHyperParameterTuningJobs", []):
            found = self.describe(parent["HyperParameterTuningJobName"])
            if found.status in _ACTIVE:
                raise InvalidRequest(
                    f"The parent tuning job '{found.name}' of WarmStartConfig is {found.status}: a parent "
                    "must have ended (Completed, Stopped or Failed)"
                )
        self._check_first_trial(plan)
        now = time.time()
        request = plan.stored()
        record = TuningJobRecord(
            name=plan.name,
            arn=job_arn(plan.name, plan.definition["RoleArn"], region, kind="hyper-parameter-tuning-job"),
            region=region,
            request=request,
            max_jobs=plan.max_jobs,
            status=str(JOB.initial),
            creation_time=now,
            last_modified_time=now,
        )
        try:
            with self.store.write() as db:
                db.execute(
                    "INSERT INTO tuning_jobs (name, arn, region, request, max_jobs, status, creation_time, "
                    "last_modified_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.name,
                        record.arn,
                        region,
                        json.dumps(request),
                        plan.max_jobs,
                        record.status,
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError:
            raise JobExists(
                "Hyperparameter tuning job names must be unique within an AWS account and region, and a "
                f"hyperparameter tuning job with this name already exists ({self.describe(plan.name).arn})"
            ) from None
        if tags:
            self.tags.add(record.arn, tags)
        self.wake()
        return record

    def _check_first_trial(self, plan: TuningPlan) -> None:
        # The lower end of every range: its values pass the schema, so this checks the rest of the request.
        sample = {r.name: r.bounds()[0] for r in parse_ranges(plan.config["ParameterRanges"])}
        self.training_jobs.validate(trial_request(plan.definition, f"{plan.name}-001-00000000", sample))

    def describe(self, name: str) -> TuningJobRecord:
        rows = self.store.read("SELECT * FROM tuning_jobs WHERE name = ?", (name,))
        if not rows:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
        return _record(rows[0])

    def all(self) -> list[TuningJobRecord]:
        return [_record(row) for row in self.store.read("SELECT * FROM tuning_jobs ORDER BY creation_time")]

    def unfinished(self) -> list[TuningJobRecord]:
        marks = ", ".join("?" for _ in _ACTIVE)
        rows = self.store.read(
            f"SELECT * FROM tuning_jobs WHERE status IN ({marks}) ORDER BY creation_time", _ACTIVE
        )
        return [_record(row) for row in rows]

    def stop(self, name: str) -> TuningJobRecord:
        record = self.move(name, JobStatus.STOPPING)
        if record is None:
            raise InvalidRequest(
                f"The request was rejected because the tuning job is in status {self.describe(name).status}."
            )
        self.wake()
        return record

    def trials(self, name: str) -> list[Trial]:
        rows = self.store.read("SELECT * FROM tuning_trials WHERE tuning_job = ? ORDER BY number", (name,))
        return [
            Trial(
                name=row["name"],
                tuning_job=row["tuning_job"],
                number=row["number"],
                params=json.loads(row["params"]),
                tuned=json.loads(row["tuned"]),
                early_stopped=bool(row["early_stopped"]),
                creation_time=row["creation_time"],
                job=self.store.get(row["name"]),
            )
            for row in rows
        ]

    # -- state changes (the driver's) --------------------------------------------------------------------

    def move(self, name: str, status: JobStatus, failure_reason: str | None = None) -> TuningJobRecord | None:
        """Move a tuning job to `status` if its lifecycle allows it from where it is; None if not."""
        now = time.time()
        with self.store.write() as db:
            rows = db.execute("SELECT status FROM tuning_jobs WHERE name = ?", (name,)).fetchall()
            if not rows or not JOB.allows(rows[0]["status"], status):
                return None
            end = now if status in JOB.terminal else None
            db.execute(
                "UPDATE tuning_jobs SET status = ?, failure_reason = coalesce(?, failure_reason), "
                "last_modified_time = ?, end_time = ? WHERE name = ?",
                (str(status), failure_reason, now, end, name),
            )
        return self.describe(name)

    def add_trial(
        self, name: str, tuning_job: str, number: int, params: dict[str, Any], tuned: dict[str, str]
    ) -> Trial:
        """Record a trial before its training job exists, so a restart knows it was meant to run."""
        now = time.time()
        with self.store.write() as db:
            db.execute(
                "INSERT INTO tuning_trials (name, tuning_job, number, params, tuned, creation_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, tuning_job, number, json.dumps(params), json.dumps(tuned), now),
            )
        return Trial(name, tuning_job, number, params, tuned, early_stopped=False, creation_time=now)

    def start_trial(self, record: TuningJobRecord, trial: Trial) -> JobRecord:
        """Create the trial's training job, through the platform's own CreateTrainingJob; it carries the
        tuning job's tags, as SageMaker's trials do."""
        request = trial_request(record.request["TrainingJobDefinition"], trial.name, trial.tuned)
        tags = self.tags.list(record.arn, limit=MAX_TAGS)
        return self.training_jobs.create(
            {**request, **({"Tags": tags} if tags else {})}, region=record.region
        )

    def mark_early_stopped(self, trial: str) -> None:
        with self.store.write() as db:
            db.execute("UPDATE tuning_trials SET early_stopped = 1 WHERE name = ?", (trial,))
