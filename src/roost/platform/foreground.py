"""One training job in the foreground, without a server: `roost train` and `roost quickstart`.

The request is the one `aws sagemaker create-training-job --cli-input-json` takes (with local paths or
file:// URIs where SageMaker has S3 URIs), validated by the same code as CreateTrainingJob, run by the same
queue, and recorded in the same store as the server's jobs.
"""

from __future__ import annotations

import contextlib
import datetime
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.algorithm.hyperparameters import parse_hyperparameters
from roost.errors import UserError
from roost.platform.defaults import STOP_GRACE_S
from roost.platform.errors import InvalidRequest
from roost.platform.lifecycle import JobStatus
from roost.platform.local_executor import TRAINING_COMMAND
from roost.platform.storage import Storage
from roost.platform.store import JobRecord
from roost.platform.training_jobs import TrainingJobs, validate_request

LOCAL_ROLE_ARN = "arn:aws:iam::000000000000:role/roost-local"
STATE_FOLDER = ".roost"
DEFAULT_INSTANCE_TYPE = "ml.p2.xlarge"


@dataclass(frozen=True)
class JobResult:
    """How a job ended and where its model is."""

    name: str
    status: str
    failure_reason: str | None
    model_artifact: Path | None
    model_artifact_uri: str | None
    job_dir: Path
    final_metrics: dict[str, float]
    state_dir: Path  # where the job is recorded
    interrupted_by: int | None = None  # the signal that stopped it (SIGINT: Ctrl-C), if one did

    @property
    def succeeded(self) -> bool:
        return self.status == JobStatus.COMPLETED


def default_job_name(base: str = "image-classification") -> str:
    # The SageMaker SDK's naming: base name, then the UTC time to the millisecond.
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{base}-{now.strftime('%Y-%m-%d-%H-%M-%S')}-{now.microsecond // 1000:03d}"


def local_storage(data_root: Path | None = None) -> Storage:
    """Where a foreground job's URIs point: s3://BUCKET/KEY under `data_root` (default: the current
    folder), paths and file:// URIs as they are."""
    return Storage(data_root or Path.cwd(), confined=False)


def _content_type(uri: str, storage: Storage) -> str:
    """RecordIO when the channel's files (a file, a folder, or a key prefix as in S3) include .rec files."""
    try:
        files = storage.channel_files(uri)
    except UserError:
        return "application/x-recordio"  # no files: creating the job says so in SageMaker's words
    return (
        "application/x-recordio" if any(f.relative.endswith(".rec") for f in files) else "application/x-image"
    )


def channel(name: str, uri: str, storage: Storage) -> dict[str, Any]:
    """An InputDataConfig entry in the workshop's form (S3Prefix, FullyReplicated, no compression)."""
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
                "S3Uri": uri,
            }
        },
        "ContentType": _content_type(uri, storage),
        "CompressionType": "None",
        "RecordWrapperType": "None",
    }


def build_request(
    *,
    channels: Mapping[str, str],
    output: str,
    hyperparameters: Mapping[str, str],
    job_name: str | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    max_runtime_s: int = 86_400,
    data_root: Path | None = None,
) -> dict[str, Any]:
    """A CreateTrainingJob request from plain values: channel name -> path or URI, output folder or URI."""
    storage = local_storage(data_root)
    return {
        "TrainingJobName": job_name or default_job_name(),
        "RoleArn": LOCAL_ROLE_ARN,
        "AlgorithmSpecification": {"TrainingImage": "image-classification", "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
        "InputDataConfig": [channel(name, uri, storage) for name, uri in channels.items()],
        "OutputDataConfig": {"S3OutputPath": output},
        "HyperParameters": dict(hyperparameters),
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_s},
    }


def default_state_dir(request: Mapping[str, Any], data_root: Path | None = None) -> Path:
    """Where `roost train` records a job unless told: `.roost` inside its output folder, beside the models,
    rather than a store in the home folder that other people's jobs may share."""
    output = local_storage(data_root).resolve(request["OutputDataConfig"]["S3OutputPath"])
    assert isinstance(output, Path)  # local storage resolves every URI to a path
    return output / STATE_FOLDER


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """The first Ctrl-C or SIGTERM raises _Interrupted in the main thread, so that both stop the job the
    same way, and later ones are ignored while it stops; elsewhere (a thread cannot take signals) nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = threading.Event()

    def interrupt(signum: int, _frame: object) -> None:
        if not interrupted.is_set():
            interrupted.set()
            raise _Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class ForegroundJob:
    """A job created by `create_training_job`, not yet run."""

    jobs: TrainingJobs
    storage: Storage
    state_dir: Path
    record: JobRecord

    @property
    def epochs(self) -> int:
        """The epochs the job trains for, from its validated hyperparameters (the progress bar's length)."""
        return parse_hyperparameters(self.record.request.get("HyperParameters", {})).epochs

    def run(self) -> JobResult:
        """Run the job now, in this process; return when it has a final state.

        Ctrl-C or SIGTERM stops the job as StopTrainingJob does (SIGTERM to the algorithm, the model so far
        kept and uploaded) and waits for it to end Stopped; further signals meanwhile are ignored.
        """
        name = self.record.name
        interrupted_by = None
        with _signals_as_interrupts():
            worker = self.jobs.queue.start_job(name)
            try:
                _wait(worker)
            except _Interrupted as interruption:
                interrupted_by = interruption.signum
                with contextlib.suppress(InvalidRequest):  # it may have ended meanwhile
                    self.jobs.stop(name)
                _wait(worker)
        final = self.jobs.describe(name)
        artifact = self.storage.resolve(final.model_artifacts) if final.model_artifacts else None
        return JobResult(
            name=final.name,
            status=final.status,
            failure_reason=final.failure_reason,
            model_artifact=artifact if isinstance(artifact, Path) else None,
            model_artifact_uri=final.model_artifacts,
            job_dir=Path(final.job_dir) if final.job_dir else self.state_dir / "jobs" / final.name,
            final_metrics={m["MetricName"]: m["Value"] for m in final.final_metrics},
            state_dir=self.state_dir,
            interrupted_by=interrupted_by,
        )


def _wait(worker: threading.Thread) -> None:
    # Polled, not join(): a join that a signal interrupts can leave is_alive() False while the thread runs.
    while worker.is_alive():
        time.sleep(0.1)


def create_training_job(
    request: Mapping[str, Any],
    *,
    state_dir: Path | None = None,
    data_root: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    command: Sequence[str] = TRAINING_COMMAND,
    stop_grace_s: float = STOP_GRACE_S,
) -> ForegroundJob:
    """Validate and record one job to run in this process; raise UserError for a bad request (SageMaker's
    wording), before anything is written.

    `s3://bucket/key` URIs resolve under `data_root` (default: the current directory); other paths are
    taken as they are. The job is recorded in `state_dir` (default: `default_state_dir`). `on_line` gets
    each log line as the algorithm prints it.
    """
    storage = local_storage(data_root)
    raw = {"RoleArn": LOCAL_ROLE_ARN, **request}
    validate_request(raw, storage)  # refuse a bad request before a store is made for it
    state_dir = state_dir or default_state_dir(raw, data_root)
    jobs = TrainingJobs.open(
        state_dir,
        storage,
        command=command,
        stop_grace_s=stop_grace_s,
        on_line=(lambda _job, line: on_line(line)) if on_line else None,
    )
    return ForegroundJob(jobs, storage, state_dir, jobs.create(raw))


def run_training_job(request: Mapping[str, Any], **options: Any) -> JobResult:
    """`create_training_job(request, **options)`, then run it; a failed job is a JobResult, not an error."""
    return create_training_job(request, **options).run()
