"""The job queue: which jobs start when, at most `max_concurrent` at once, each in a thread of its own.

The queue knows jobs only through a `JobDriver`: which jobs wait, which were stopped while waiting, how one
job runs from start to final state, what a previous server left behind. Training jobs have theirs
(`roost.platform.training_job_driver`); a transform job driver would run the same queue over its own
table, with a `LocalExecutor` of its own command.

Every thread here outlives a failing store (a full disk): the scheduler logs the error and tries again on
its next round, and a driver's `run` ends its job Failed instead of dying with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from roost.platform.job_execution import StopControl

log = logging.getLogger("roost.platform")


@dataclass(frozen=True)
class Waiting:
    """A job that has not started; `stopped` when a stop reached it in the queue."""

    name: str
    stopped: bool = False


class JobDriver(Protocol):
    def waiting(self) -> Sequence[Waiting]:
        """The jobs not started yet (and those stopped before they started), oldest first."""
        ...

    def cancel(self, name: str) -> None:
        """End a job that was stopped before it started."""
        ...

    def run(self, name: str, control: StopControl) -> None:
        """Drive one job to its final state, whatever fails on the way."""
        ...

    def recover(self) -> None:
        """Give a final state to the jobs a previous server left running; queued ones stay queued."""
        ...


@dataclass
class _Running:
    control: StopControl
    thread: threading.Thread


class JobQueue:
    def __init__(self, driver: JobDriver, *, max_concurrent: int = 1) -> None:
        self.driver = driver
        self.max_concurrent = max_concurrent
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._closing = threading.Event()
        self._scheduler: threading.Thread | None = None

    def recover(self) -> None:
        self.driver.recover()

    def start(self) -> None:
        self._scheduler = threading.Thread(target=self._schedule, name="roost-scheduler", daemon=True)
        self._scheduler.start()

    def wake(self) -> None:
        self._wakeup.set()

    def request_stop(self, name: str) -> None:
        """Stop a job that was moved to Stopping: signal its process, or end it if it is still queued."""
        with self._lock:
            running = self._running.get(name)
            if running is not None:
                running.control.request()
        self.wake()

    def start_job(self, name: str) -> threading.Thread:
        """Run one job now in a thread of its own, outside the queue (`roost train`)."""
        with self._lock:
            return self._launch(name)

    def close(self, timeout: float | None = None) -> None:
        """Stop the scheduler and every running job (they end Stopped, with their model so far)."""
        self._closing.set()
        self.wake()
        if self._scheduler is not None:
            self._scheduler.join()
        with self._lock:
            running = list(self._running.values())
        for job in running:
            job.control.request(shutdown=True)
        for job in running:
            job.thread.join(timeout)

    def _schedule(self) -> None:
        while not self._closing.is_set():
            try:
                self._start_waiting_jobs()
            except Exception:
                log.exception("the job queue could not read or update the store; trying again")
            self._wakeup.wait(1.0)
            self._wakeup.clear()

    def _start_waiting_jobs(self) -> None:
        with self._lock:
            self._running = {n: r for n, r in self._running.items() if r.thread.is_alive()}
            for job in self.driver.waiting():
                if job.name in self._running:
                    continue
                if job.stopped:
                    self.driver.cancel(job.name)
                elif len(self._running) < self.max_concurrent:
                    self._launch(job.name)

    def _launch(self, name: str) -> threading.Thread:
        control = StopControl()
        thread = threading.Thread(
            target=self.driver.run, args=(name, control), name=f"job-{name}", daemon=True
        )
        self._running[name] = _Running(control, thread)
        thread.start()
        return thread
