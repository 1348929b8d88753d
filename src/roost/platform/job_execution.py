"""The one interface between a job's platform side and whatever runs its process: an `Executor`.

The platform lays out a job directory, hands it to an executor with the variables the process needs, and
gets back how the process ended. While it runs, the executor reports its process (for recovery after a
server restart), each line it prints, and the moment it starts stopping it; a `StopControl` tells it to
stop. `LocalExecutor` runs the process on this machine; another executor (a Ray task, a Kubernetes job)
could run the same directory elsewhere by shipping `input/` there and `model/` and `output/` back.

An executor never lets an error in a report kill the job's watch: it stops the process and returns the
error in the outcome, so that the platform can end the job Failed instead of leaving it InProgress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from roost.platform.lifecycle import StopReason


class StopControl:
    """How one running job is told to stop, and when it must stop anyway (MaxRuntimeInSeconds)."""

    def __init__(self) -> None:
        self.deadline = float("inf")
        self.shutdown = False  # the stop came from the server shutting down, not from a user
        self._requested = threading.Event()

    def request(self, *, shutdown: bool = False) -> None:
        self.shutdown = self.shutdown or shutdown
        self._requested.set()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def reason(self) -> StopReason | None:
        """Why the job must stop now, if it must."""
        if self._requested.is_set():
            return StopReason.REQUESTED
        if time.time() >= self.deadline:
            return StopReason.MAX_RUNTIME
        return None

    def wait(self, timeout: float) -> None:
        self._requested.wait(timeout)


class ProcessEvents(Protocol):
    """What an executor reports while a job's process runs (called from the executor's threads)."""

    def started(self, pid: int, start_ticks: int | None) -> None: ...

    def line(self, text: str) -> None: ...

    def stopping(self, reason: StopReason) -> None: ...


@dataclass(frozen=True)
class ProcessOutcome:
    """How a job's process ended: its exit status (negative: killed by that signal), whether it was
    stopped and why, and the error that made the executor end it, if one did."""

    returncode: int
    stop_reason: StopReason | None = None
    error: Exception | None = None


class Executor(Protocol):
    def execute(
        self, job_dir: Path, environment: Mapping[str, str], control: StopControl, events: ProcessEvents
    ) -> ProcessOutcome:
        """Run the job's process on `job_dir` to its end; `environment` adds to the executor's own."""
        ...

    def kill_orphan(self, pid: int, start_ticks: int | None) -> None:
        """End a process that a previous server started and nobody watches any more, if it still runs."""
        ...
