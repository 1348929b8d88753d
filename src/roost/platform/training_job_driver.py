"""One training job driven through its lifecycle: lay out its directory, run the algorithm, keep the model.

InProgress (Starting -> Downloading -> Training -> Uploading) -> Completed | Failed, or Stopping -> Stopped.
The algorithm runs through an `Executor` (`roost.platform.job_execution`); the queue that decides when is
`roost.platform.job_queue`. A job ends Failed with no ModelArtifacts: only a job that completed or was
stopped publishes its model. A job that a stop reached ends Stopped, even if its process then finished.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from roost.errors import UserError
from roost.platform.host_metrics import HostSampler
from roost.platform.job_environment import passed_environment
from roost.platform.job_execution import Executor, ProcessOutcome, StopControl
from roost.platform.job_queue import Waiting
from roost.platform.job_transitions import MAX_RUNTIME_MESSAGE, JobTransitions
from roost.platform.job_workspace import JobDirectory
from roost.platform.lifecycle import JobStatus, SecondaryStatus, StopReason
from roost.platform.log_streams import LogStreams, LogStreamWriter
from roost.platform.metrics import Metric, Metrics
from roost.platform.request import CreateTrainingJobRequest
from roost.platform.storage import Storage, join
from roost.platform.store import JobRecord, Store
from roost.platform.training_metrics import DIMENSION, NAMESPACE, MetricTracker

LineCallback = Callable[[str, str], None]
# How long a job keeps trying to record its failure in a store that refuses writes (a full disk).
RECORD_RETRY_S = 600.0
log = logging.getLogger("roost.platform")


def model_artifact_uri(record: JobRecord) -> str:
    return join(record.request["OutputDataConfig"]["S3OutputPath"], record.name, "output", "model.tar.gz")


def _internal_failure(error: Exception) -> str:
    if isinstance(error, sqlite3.Error):
        return (
            f"InternalServerError: the roost server could not record this job ({error}), so it ended the "
            "job's processes. Free space in the server's --state-dir, then create the job again."
        )
    return f"InternalServerError: the roost server could not run this job: {error!r}"


def _algorithm_failure(job_dir: JobDirectory, returncode: int, stream: str) -> str:
    """The FailureReason of a process that ended on its own without a usable model."""
    written = job_dir.failure_reason()
    if written is not None:
        return written
    if returncode == 0:
        return "AlgorithmError: the algorithm exited without writing a model to /opt/ml/model"
    if returncode < 0:
        return (
            f"AlgorithmError: the algorithm was killed by {signal.Signals(-returncode).name} "
            f"(out of memory?); see the log stream {stream}"
        )
    return (
        f"AlgorithmError: the algorithm exited with code {returncode} without a failure reason; "
        f"see the log stream {stream}"
    )


class _JobEvents:
    """What one job's process reports, written to the job's record and log stream."""

    def __init__(
        self, driver: TrainingJobDriver, record: JobRecord, stream: LogStreamWriter, control: StopControl
    ) -> None:
        self.driver, self.name, self.stream, self.control = driver, record.name, stream, control
        self.tracker = MetricTracker(record.final_metrics)

    def started(self, pid: int, start_ticks: int | None) -> None:
        self.driver.store.update(self.name, pid=pid, pid_start_ticks=start_ticks)
        HostSampler(self.driver.metrics, self.name, group=pid).start()  # the process leads its own group

    def line(self, text: str) -> None:
        at = time.time()
        self.stream.write(text, at)
        observed = self.tracker.observe(text, at)
        if observed:
            self.driver.store.update(self.name, final_metrics=self.tracker.final())
            for metric, value in observed:
                series = Metric.of(NAMESPACE, metric, {DIMENSION: self.name})
                self.driver.metrics.put(series, [(at, value)])
        if self.driver.on_line is not None:
            self.driver.on_line(self.name, text)

    def stopping(self, reason: StopReason) -> None:
        self.driver.record_stopping(self.name, self.control, reason)


class TrainingJobDriver:
    """The training jobs' side of the queue (`JobDriver`): each job from Starting to its final state."""

    def __init__(
        self,
        store: Store,
        storage: Storage,
        log_streams: LogStreams,
        jobs_dir: Path,
        executor: Executor,
        metrics: Metrics,
        on_line: LineCallback | None = None,
    ) -> None:
        self.store, self.storage, self.log_streams = store, storage, log_streams
        self.jobs_dir, self.executor = jobs_dir, executor
        self.metrics = metrics
        self.transitions = JobTransitions(store)
        self.on_line = on_line

    # -- the queue's view --------------------------------------------------------------------------------

    def waiting(self) -> list[Waiting]:
        return [
            Waiting(record.name, stopped=record.status == JobStatus.STOPPING)
            for record in self.store.unfinished()
            if record.status == JobStatus.STOPPING or record.secondary_status == SecondaryStatus.STARTING
        ]

    def cancel(self, name: str) -> None:
        self.transitions.stopped(name, "Training job stopped before it started")

    def recover(self) -> None:
        now = time.time()
        for record in self.store.unfinished():
            if record.pid is not None:  # an orphan of the dead server: nobody reads it
                self.executor.kill_orphan(record.pid, record.pid_start_ticks)
            if record.status == JobStatus.STOPPING:
                self.transitions.stopped(record.name, "Training job stopped while the roost server was down")
            elif record.secondary_status != SecondaryStatus.STARTING:
                self.transitions.fail(
                    record.name,
                    "InternalServerError: the roost server stopped while this job was in progress "
                    f"({record.secondary_status}), and its algorithm process was lost. "
                    "Create the job again to run it.",
                    training_end_time=record.training_end_time or now,
                )

    def run(self, name: str, control: StopControl) -> None:
        try:
            self._run(name, control)
        except Exception as error:  # a store or storage error no step expected: the job still ends
            log.exception("training job %s could not be run", name)
            self._fail_in_the_end(name, control, _internal_failure(error))

    # -- one job -----------------------------------------------------------------------------------------

    def record_stopping(self, name: str, control: StopControl, reason: StopReason) -> None:
        """InProgress -> Stopping as the stop begins (StopTrainingJob has recorded it already)."""
        if reason is StopReason.MAX_RUNTIME:
            message = f"{MAX_RUNTIME_MESSAGE}: stopping"
        elif control.shutdown:
            message = "Stopping the training job: the roost server is shutting down"
        else:
            message = "Stopping the training job"
        self.transitions.stopping(name, message)

    @staticmethod
    def _stopped_message(control: StopControl) -> str:
        return (
            "Training job stopped: the roost server shut down" if control.shutdown else "Training job stopped"
        )

    def _run(self, name: str, control: StopControl) -> None:
        record = self.store.get(name)
        assert record is not None
        request = CreateTrainingJobRequest.model_validate(record.request)
        job_dir = JobDirectory(self.jobs_dir / name)
        control.deadline = time.time() + request.StoppingCondition.MaxRuntimeInSeconds
        downloading = self.transitions.advance(
            name, SecondaryStatus.DOWNLOADING, "Downloading input data", job_dir=str(job_dir.root)
        )
        if downloading is None:
            self.cancel(name)
            return
        try:
            job_dir.lay_out(request, self.storage)
        except (UserError, OSError, BotoCoreError, ClientError) as error:
            self.transitions.fail(name, f"ClientError: {error}")
            return
        started = time.time()
        training = self.transitions.advance(
            name,
            SecondaryStatus.TRAINING,
            "Training image download completed. Training in progress.",
            training_start_time=started,
        )
        if training is None or control.requested:  # a stop arrived while the data was laid out
            self.record_stopping(name, control, StopReason.REQUESTED)
            self.transitions.stopped(name, self._stopped_message(control))
            return
        stream = self.log_streams.writer(name, started)
        environment = {
            **passed_environment(request.Environment),
            "TRAINING_JOB_NAME": name,
            "TRAINING_JOB_ARN": record.arn,
        }
        outcome = self.executor.execute(
            job_dir.root, environment, control, _JobEvents(self, record, stream, control)
        )
        self._finish(record, job_dir, control, outcome, stream.name)

    def _finish(
        self,
        record: JobRecord,
        job_dir: JobDirectory,
        control: StopControl,
        outcome: ProcessOutcome,
        stream: str,
    ) -> None:
        name, ended, stop = record.name, time.time(), outcome.stop_reason
        if outcome.error is not None:
            self._fail_in_the_end(name, control, _internal_failure(outcome.error), training_end_time=ended)
            return
        if stop is None and not (outcome.returncode == 0 and job_dir.has_model()):
            failure = _algorithm_failure(job_dir, outcome.returncode, stream)
            self.transitions.fail(name, failure, training_end_time=ended)
            return
        artifact = None
        if job_dir.has_model():
            if stop is None:
                self.transitions.advance(
                    name, SecondaryStatus.UPLOADING, "Uploading generated training model"
                )
            artifact = model_artifact_uri(record)
            try:
                local = job_dir.output / "model.tar.gz"
                job_dir.package_model(local)
                self.storage.put(local, artifact)
            except (UserError, OSError, BotoCoreError, ClientError) as error:
                reason = f"ClientError: could not write the model to {artifact}: {error}"
                self.transitions.fail(name, reason, training_end_time=ended)
                return
        kept = {"training_end_time": ended, "model_artifacts": artifact}
        if stop is StopReason.MAX_RUNTIME:
            self.transitions.max_runtime_exceeded(name, **kept)
        elif stop is StopReason.REQUESTED or self.transitions.complete(name, **kept) is None:
            # Stopped, or a stop arrived while the model was uploaded: never Completed after a stop.
            self.transitions.stopped(name, self._stopped_message(control), **kept)

    def _fail_in_the_end(self, name: str, control: StopControl, reason: str, **changes: object) -> None:
        """End the job Failed, retrying while the store refuses writes (a full disk may be freed), until
        RECORD_RETRY_S or a server shutdown; the next server start then fails it (`recover`)."""
        deadline, pause = time.monotonic() + RECORD_RETRY_S, 0.5
        while True:
            try:
                self.transitions.fail(name, reason, **changes)
                return
            except sqlite3.Error:
                if time.monotonic() >= deadline or control.shutdown:
                    log.exception("training job %s: giving up recording its failure", name)
                    return
                time.sleep(pause)
                pause = min(pause * 2, 10.0)
