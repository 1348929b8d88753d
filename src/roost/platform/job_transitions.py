"""A training job's named moves through the job lifecycle, each one `Store.transition` with its words.

Every status change of a training job goes through here, so the statuses, secondary statuses and messages
SageMaker shows are written once. Each move returns the new record, or None when the lifecycle refuses it
(the job has ended, or a stop reached it first): the caller decides what a refused move means.
"""

from __future__ import annotations

import time
from typing import Any

from roost.algorithm.job_directory import FAILURE_LIMIT
from roost.platform.lifecycle import JobStatus, SecondaryStatus
from roost.platform.store import JobRecord, Store

MAX_RUNTIME_MESSAGE = "Training job runtime exceeded MaxRuntimeInSeconds provided"


class JobTransitions:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _move(
        self, name: str, status: JobStatus, secondary: SecondaryStatus, message: str, **changes: Any
    ) -> JobRecord | None:
        return self.store.transition(
            name, status=status, secondary=secondary, message=message, at=time.time(), **changes
        )

    def advance(
        self, name: str, secondary: SecondaryStatus, message: str, **changes: Any
    ) -> JobRecord | None:
        """A step within InProgress (Downloading, Training, Uploading); refused once the job is Stopping."""
        return self._move(name, JobStatus.IN_PROGRESS, secondary, message, **changes)

    def stopping(self, name: str, message: str) -> JobRecord | None:
        """InProgress -> Stopping (StopTrainingJob, MaxRuntimeInSeconds, a server shutting down)."""
        return self._move(name, JobStatus.STOPPING, SecondaryStatus.STOPPING, message)

    def complete(self, name: str, **changes: Any) -> JobRecord | None:
        """InProgress -> Completed; refused for a job a stop reached, which must end Stopped instead."""
        return self._move(
            name, JobStatus.COMPLETED, SecondaryStatus.COMPLETED, "Training job completed", **changes
        )

    def stopped(self, name: str, message: str, **changes: Any) -> JobRecord | None:
        return self._move(name, JobStatus.STOPPED, SecondaryStatus.STOPPED, message, **changes)

    def max_runtime_exceeded(self, name: str, **changes: Any) -> JobRecord | None:
        return self._move(
            name, JobStatus.STOPPED, SecondaryStatus.MAX_RUNTIME_EXCEEDED, MAX_RUNTIME_MESSAGE, **changes
        )

    def fail(self, name: str, reason: str, **changes: Any) -> JobRecord | None:
        """The job ends Failed with `reason` as its FailureReason (cut to what SageMaker shows)."""
        return self._move(
            name,
            JobStatus.FAILED,
            SecondaryStatus.FAILED,
            "Training job failed",
            failure_reason=reason[:FAILURE_LIMIT],
            **changes,
        )
