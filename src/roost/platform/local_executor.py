"""Runs a job's process on this machine: `COMMAND JOB_DIR` in its own process group, watched and signalled.

A stop is SageMaker's: SIGTERM to the whole group (data-loader workers, torchrun ranks), then SIGKILL after
the grace period. Whatever the process started ends with it. Its output is read line by line as printed.

The command is the executor's only tie to a kind of job: training jobs run `roost algorithm train --ml-dir`
(`TRAINING_COMMAND`); a transform job would be `LocalExecutor(command=(..., "transform", "--ml-dir"))`
behind the same queue (`roost.platform.job_queue`), reporting to its own `ProcessEvents`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from roost.platform.defaults import STOP_GRACE_S
from roost.platform.job_execution import ProcessEvents, ProcessOutcome, StopControl
from roost.platform.lifecycle import StopReason

TRAINING_COMMAND = (sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir")
log = logging.getLogger("roost.platform")


def start_ticks(pid: int) -> int | None:
    """The process start time (field 22 of /proc/PID/stat): tells a reused pid from the process we started."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


class _Watch:
    """One process's reports, where the first report that fails ends the process (see job_execution)."""

    def __init__(self, events: ProcessEvents) -> None:
        self.events = events
        self.error: Exception | None = None
        self.failed = threading.Event()

    def report(self, call: Callable[[], object]) -> None:
        if self.error is not None:
            return
        try:
            call()
        except Exception as error:
            log.exception("a job's report failed; its process is ended")
            self.error = error
            self.failed.set()


class LocalExecutor:
    def __init__(
        self,
        command: Sequence[str] = TRAINING_COMMAND,
        *,
        stop_grace_s: float = STOP_GRACE_S,
        poll_s: float = 0.25,
    ) -> None:
        self.command = tuple(command)
        self.stop_grace_s = stop_grace_s
        self.poll_s = poll_s

    def execute(
        self, job_dir: Path, environment: Mapping[str, str], control: StopControl, events: ProcessEvents
    ) -> ProcessOutcome:
        watch = _Watch(events)
        process = subprocess.Popen(
            [*self.command, str(job_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment, "PYTHONUNBUFFERED": "1"},
            cwd=job_dir,
            start_new_session=True,  # its own process group: signals reach every worker, Ctrl-C none
        )
        watch.report(partial(events.started, process.pid, start_ticks(process.pid)))
        pump = threading.Thread(target=self._pump, args=(process, watch), name="job-output", daemon=True)
        pump.start()
        try:
            reason = self._watch(process, control, watch)
        finally:
            # Whatever the algorithm started (data loader workers, torchrun ranks) ends with it.
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            pump.join()
        return ProcessOutcome(process.returncode, reason, watch.error)

    def kill_orphan(self, pid: int, start_ticks_then: int | None) -> None:
        if start_ticks(pid) == start_ticks_then:
            _signal_group(pid, signal.SIGKILL)

    def _watch(
        self, process: subprocess.Popen[bytes], control: StopControl, watch: _Watch
    ) -> StopReason | None:
        """Wait for the process; stop it when asked or past its deadline, kill it when a report failed."""
        reason: StopReason | None = None
        signalled_at = 0.0
        while process.poll() is None:
            if reason is None:
                control.wait(self.poll_s)
            else:  # the stop event stays set: wait on the process instead of spinning
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(self.poll_s)
            if watch.failed.is_set():
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
                break
            now = time.monotonic()
            if reason is None:
                reason = control.reason()
                if reason is not None:
                    watch.report(partial(watch.events.stopping, reason))
                    _signal_group(process.pid, signal.SIGTERM)
                    signalled_at = now
            elif now - signalled_at >= self.stop_grace_s:
                _signal_group(process.pid, signal.SIGKILL)
        return reason

    @staticmethod
    def _pump(process: subprocess.Popen[bytes], watch: _Watch) -> None:
        """Hand each line to the job as printed; after a failed report keep reading, so the process never
        blocks on a full pipe before it is ended."""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            watch.report(partial(watch.events.line, line))
