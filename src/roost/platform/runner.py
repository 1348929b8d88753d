"""Runs training jobs: a queue, one algorithm process per job, its log stream, its final state.

Each job goes InProgress (Starting -> Downloading -> Training -> Uploading) -> Completed | Failed, or
Stopping -> Stopped. The algorithm runs as `python -m roost algorithm train --ml-dir DIR` in its own process
group, so a stop (SIGTERM, then SIGKILL after a grace period, as SageMaker does) reaches all its workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from roost.errors import UserError
from roost.platform.defaults import STOP_GRACE_S
from roost.platform.job_environment import passed_environment
from roost.platform.job_workspace import JobDirectory
from roost.platform.log_stream import LogStreamWriter
from roost.platform.request import CreateTrainingJobRequest
from roost.platform.storage import Storage, join
from roost.platform.store import JobRecord, Store
from roost.platform.training_metrics import MetricTracker

ALGORITHM_COMMAND = (sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir")

LineCallback = Callable[[str, str], None]


@dataclass
class _Running:
    stop: threading.Event = field(default_factory=threading.Event)
    stop_message: str = "Training job stopped"
    thread: threading.Thread | None = None


def model_artifact_uri(record: JobRecord) -> str:
    return join(record.request["OutputDataConfig"]["S3OutputPath"], record.name, "output", "model.tar.gz")


def _start_ticks(pid: int) -> int | None:
    # The process start time (field 22 of /proc/PID/stat) tells a reused pid from the process we started.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


class Runner:
    """Starts queued jobs (up to `max_concurrent` at once) and drives each to a final state."""

    def __init__(
        self,
        store: Store,
        storage: Storage,
        jobs_dir: Path,
        *,
        max_concurrent: int = 1,
        stop_grace_s: float = STOP_GRACE_S,
        command: Sequence[str] = ALGORITHM_COMMAND,
        on_line: LineCallback | None = None,
        poll_s: float = 0.25,
    ) -> None:
        self.store, self.storage, self.jobs_dir = store, storage, jobs_dir
        self.max_concurrent = max_concurrent
        self.stop_grace_s = stop_grace_s
        self.command = tuple(command)
        self.on_line = on_line
        self.poll_s = poll_s
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._closing = threading.Event()
        self._scheduler: threading.Thread | None = None

    # -- the queue ---------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Give a final state to the jobs a previous server left running; queued ones stay queued."""
        now = time.time()
        for record in self.store.unfinished():
            if record.pid is not None and _start_ticks(record.pid) == record.pid_start_ticks:
                _signal_group(record.pid, signal.SIGKILL)  # an orphan of the dead server: nobody reads it
            if record.status == "Stopping":
                self._end(
                    record.name, "Stopped", "Stopped", "Training job stopped while the roost server was down"
                )
            elif record.secondary_status != "Starting":
                self._end(
                    record.name,
                    "Failed",
                    "Failed",
                    "Training job failed",
                    failure_reason=(
                        "InternalServerError: the roost server stopped while this job was in progress "
                        f"({record.secondary_status}), and its algorithm process was lost. "
                        "Create the job again to run it."
                    ),
                    training_end_time=record.training_end_time or now,
                )

    def start(self) -> None:
        self._scheduler = threading.Thread(target=self._schedule, name="roost-scheduler", daemon=True)
        self._scheduler.start()

    def wake(self) -> None:
        self._wakeup.set()

    def request_stop(self, name: str, message: str = "Training job stopped") -> None:
        """Stop a job that StopTrainingJob moved to Stopping: signal its process, or end it if queued."""
        with self._lock:
            running = self._running.get(name)
            if running is not None:
                running.stop_message = message
                running.stop.set()
        self.wake()

    def close(self, timeout: float | None = None) -> None:
        """Stop the scheduler and every running job (they end Stopped, with their model so far)."""
        self._closing.set()
        self.wake()
        if self._scheduler is not None:
            self._scheduler.join()
        with self._lock:
            running = list(self._running.items())
        for name, _ in running:
            self.store.stopping(name, "Stopping the training job: the roost server is shutting down")
            self.request_stop(name, "Training job stopped: the roost server shut down")
        for _, job in running:
            if job.thread is not None:
                job.thread.join(timeout)

    def _schedule(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                self._running = {n: r for n, r in self._running.items() if r.thread and r.thread.is_alive()}
                for record in self.store.unfinished():
                    if record.name in self._running:
                        continue
                    if record.status == "Stopping":  # stopped while still in the queue
                        self._end(record.name, "Stopped", "Stopped", "Training job stopped before it started")
                    elif record.secondary_status == "Starting" and len(self._running) < self.max_concurrent:
                        self._launch(record.name)
            self._wakeup.wait(1.0)
            self._wakeup.clear()

    def _launch(self, name: str) -> None:
        running = _Running()
        running.thread = threading.Thread(
            target=self.run, args=(name, running), name=f"job-{name}", daemon=True
        )
        self._running[name] = running
        running.thread.start()

    def start_job(self, name: str) -> threading.Thread:
        """Run one job now in a thread of its own, outside the queue (`roost train`)."""
        with self._lock:
            self._launch(name)
            thread = self._running[name].thread
        assert thread is not None
        return thread

    # -- one job -----------------------------------------------------------------------------------------

    def _move(self, name: str, secondary: str, message: str, **changes: object) -> JobRecord | None:
        return self.store.transition(
            name,
            status="InProgress",
            secondary=secondary,
            message=message,
            at=time.time(),
            only_from=("InProgress",),
            **changes,
        )

    def _end(self, name: str, status: str, secondary: str, message: str, **changes: object) -> JobRecord:
        record = self.store.transition(
            name,
            status=status,
            secondary=secondary,
            message=message,
            at=time.time(),
            only_from=("InProgress", "Stopping"),
            **changes,
        )
        final = record or self.store.get(name)
        assert final is not None
        return final

    def run(self, name: str, running: _Running) -> JobRecord:
        """Drive one job from Starting to its final state; returns the final record."""
        record = self.store.get(name)
        assert record is not None
        request = CreateTrainingJobRequest.model_validate(record.request)
        job_dir = JobDirectory(self.jobs_dir / name)
        deadline = time.time() + request.StoppingCondition.MaxRuntimeInSeconds
        if self._move(name, "Downloading", "Downloading input data", job_dir=str(job_dir.root)) is None:
            return self._end(name, "Stopped", "Stopped", "Training job stopped before it started")
        try:
            job_dir.lay_out(request, self.storage)
        except (UserError, OSError, BotoCoreError, ClientError) as error:
            return self._end(
                name, "Failed", "Failed", "Training job failed", failure_reason=f"ClientError: {error}"[:1024]
            )
        return self._train(record, request, job_dir, running, deadline)

    def _train(
        self,
        record: JobRecord,
        request: CreateTrainingJobRequest,
        job_dir: JobDirectory,
        running: _Running,
        deadline: float,
    ) -> JobRecord:
        name = record.name
        started = time.time()
        stream = LogStreamWriter(self.store, name, started)
        environment = {
            **os.environ,
            **passed_environment(request.Environment),
            "TRAINING_JOB_NAME": name,
            "TRAINING_JOB_ARN": record.arn,
            "PYTHONUNBUFFERED": "1",
        }
        process = subprocess.Popen(
            [*self.command, str(job_dir.root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=job_dir.root,
            start_new_session=True,  # its own process group: signals reach every worker, Ctrl-C none
        )
        moved = self._move(
            name,
            "Training",
            "Training image download completed. Training in progress.",
            training_start_time=started,
            pid=process.pid,
            pid_start_ticks=_start_ticks(process.pid),
        )
        if moved is None:  # StopTrainingJob arrived while the data was being laid out
            running.stop.set()
        pump = threading.Thread(
            target=self._pump, args=(name, process, stream, record), name=f"log-{name}", daemon=True
        )
        pump.start()
        reason = self._watch(name, process, running, deadline)
        # Whatever the algorithm started (data loader workers, torchrun ranks) ends with it.
        _signal_group(process.pid, signal.SIGKILL)
        pump.join()
        ended = time.time()
        artifact = None
        if job_dir.has_model():
            if reason is None:
                self._move(name, "Uploading", "Uploading generated training model")
            artifact = model_artifact_uri(record)
            try:
                local = job_dir.output / "model.tar.gz"
                job_dir.package_model(local)
                self.storage.put(local, artifact)
            except (UserError, OSError, BotoCoreError, ClientError) as error:
                return self._end(
                    name,
                    "Failed",
                    "Failed",
                    "Training job failed",
                    failure_reason=f"ClientError: could not write the model to {artifact}: {error}"[:1024],
                    training_end_time=ended,
                )
        return self._finish(name, process.returncode, reason, running, job_dir, artifact, stream.name, ended)

    def _finish(
        self,
        name: str,
        returncode: int,
        reason: str | None,
        running: _Running,
        job_dir: JobDirectory,
        artifact: str | None,
        stream: str,
        ended: float,
    ) -> JobRecord:
        common: dict[str, object] = {"training_end_time": ended, "model_artifacts": artifact}
        if reason == "stopped":
            return self._end(name, "Stopped", "Stopped", running.stop_message, **common)
        if reason == "max_runtime":
            message = "Training job runtime exceeded MaxRuntimeInSeconds provided"
            return self._end(name, "Stopped", "MaxRuntimeExceeded", message, **common)
        if returncode == 0 and artifact is not None:
            return self._end(name, "Completed", "Completed", "Training job completed", **common)
        failure = job_dir.failure_reason()
        if failure is None:
            if returncode == 0:
                failure = "AlgorithmError: the algorithm exited without writing a model to /opt/ml/model"
            elif returncode < 0:
                failure = (
                    f"AlgorithmError: the algorithm was killed by {signal.Signals(-returncode).name} "
                    f"(out of memory?); see the log stream {stream}"
                )
            else:
                failure = (
                    f"AlgorithmError: the algorithm exited with code {returncode} without a failure "
                    f"reason; see the log stream {stream}"
                )
        return self._end(name, "Failed", "Failed", "Training job failed", failure_reason=failure, **common)

    def _watch(
        self, name: str, process: subprocess.Popen[bytes], running: _Running, deadline: float
    ) -> str | None:
        """Wait for the process; stop it when asked or past MaxRuntimeInSeconds. Returns why it stopped."""
        reason: str | None = None
        signalled_at = 0.0
        while process.poll() is None:
            running.stop.wait(self.poll_s)
            now = time.time()
            if reason is None:
                if running.stop.is_set():
                    reason = "stopped"
                elif now >= deadline:
                    reason = "max_runtime"
                    self.store.stopping(
                        name, "Training job runtime exceeded MaxRuntimeInSeconds provided: stopping"
                    )
                if reason is not None:
                    _signal_group(process.pid, signal.SIGTERM)
                    signalled_at = now
            elif now - signalled_at >= self.stop_grace_s:
                _signal_group(process.pid, signal.SIGKILL)
        return reason

    def _pump(
        self, name: str, process: subprocess.Popen[bytes], stream: LogStreamWriter, record: JobRecord
    ) -> None:
        """Copy the algorithm's output into the log stream line by line, as printed; track the metrics."""
        assert process.stdout is not None
        tracker = MetricTracker(record.final_metrics)
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            at = time.time()
            stream.write(line, at)
            if tracker.observe(line, at):
                self.store.update(name, final_metrics=tracker.final())
            if self.on_line is not None:
                self.on_line(name, line)
