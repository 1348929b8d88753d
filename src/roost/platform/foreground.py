"""One training job in the foreground, without a server: `roost train` and `roost quickstart`.

The request is the one `aws sagemaker create-training-job --cli-input-json` takes (with local paths or
file:// URIs where SageMaker has S3 URIs), validated by the same code as CreateTrainingJob, run by the same
queue, and recorded in the same store as the server's jobs.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.errors import UserError
from roost.platform.defaults import STOP_GRACE_S
from roost.platform.local_executor import TRAINING_COMMAND
from roost.platform.storage import Storage
from roost.platform.training_jobs import TrainingJobs

LOCAL_ROLE_ARN = "arn:aws:iam::000000000000:role/roost-local"
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

    @property
    def succeeded(self) -> bool:
        return self.status == "Completed"


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


def run_training_job(
    request: Mapping[str, Any],
    *,
    state_dir: Path,
    data_root: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    command: Sequence[str] = TRAINING_COMMAND,
    stop_grace_s: float = STOP_GRACE_S,
) -> JobResult:
    """Validate and run one job now, in this process; return when it has a final state.

    `s3://bucket/key` URIs resolve under `data_root` (default: the current directory); other paths are
    taken as they are. `on_line` gets each log line as the algorithm prints it. Raises UserError for a bad
    request (SageMaker's wording); a failed job is a JobResult with status Failed. Ctrl-C stops the job
    (SIGTERM, the model so far is kept) and re-raises KeyboardInterrupt.
    """
    storage = local_storage(data_root)
    raw = {"RoleArn": LOCAL_ROLE_ARN, **request}
    jobs = TrainingJobs.open(
        state_dir,
        storage,
        command=command,
        stop_grace_s=stop_grace_s,
        on_line=(lambda _job, line: on_line(line)) if on_line else None,
    )
    record = jobs.create(raw)
    worker = jobs.queue.start_job(record.name)
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        if not jobs.describe(record.name).finished:
            jobs.stop(record.name)
        worker.join()
        raise
    final = jobs.describe(record.name)
    artifact = storage.resolve(final.model_artifacts) if final.model_artifacts else None
    return JobResult(
        name=final.name,
        status=final.status,
        failure_reason=final.failure_reason,
        model_artifact=artifact if isinstance(artifact, Path) else None,
        model_artifact_uri=final.model_artifacts,
        job_dir=Path(final.job_dir) if final.job_dir else state_dir / "jobs" / final.name,
        final_metrics={m["MetricName"]: m["Value"] for m in final.final_metrics},
    )
