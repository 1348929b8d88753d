"""Batch transform jobs: every file under an S3 prefix answered by a model, one `<file>.out` each.

A transform job is a job like a training job: the same lifecycle (InProgress -> Completed | Failed, or
Stopping -> Stopped), the same queue (`JobQueue`, with this module as its `JobDriver`), the same executor
running the algorithm's entry point (`roost algorithm transform --ml-dir DIR`) on a job directory, and a
log stream in `/aws/sagemaker/TransformJobs` (`<job>/<instance id>`). The platform lays out the
directory (the model, the input files, transform.json), and uploads `output/data/<file>.out` to
`S3OutputPath/<file>.out` once the algorithm is done.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from roost.algorithm.job_directory import FAILURE_LIMIT
from roost.errors import UserError
from roost.platform.defaults import STOP_GRACE_S
from roost.platform.errors import InvalidRequest
from roost.platform.job_environment import passed_environment
from roost.platform.job_execution import StopControl
from roost.platform.job_queue import JobQueue, Waiting
from roost.platform.job_workspace import JobDirectory
from roost.platform.lifecycle import JOB, JobStatus, StopReason
from roost.platform.local_executor import LocalExecutor
from roost.platform.log_streams import LogStreams, LogStreamWriter
from roost.platform.models import Models, container
from roost.platform.resource_requests import RequestShape, ResourceName, not_found, parse
from roost.platform.resource_table import Resource, ResourceTable, resource_arn
from roost.platform.storage import ChannelFile, Storage, join
from roost.platform.store import JobQuery, Store
from roost.platform.tags import Tags

TRANSFORM_COMMAND = (sys.executable, "-m", "roost", "algorithm", "transform", "--ml-dir")
LOG_GROUP = "/aws/sagemaker/TransformJobs"
log = logging.getLogger("roost.platform")
_J = JobStatus


class S3Source(RequestShape):
    S3DataType: Literal["S3Prefix", "ManifestFile", "AugmentedManifestFile"]
    S3Uri: Annotated[str, Field(max_length=1024)]


class DataSource(RequestShape):
    S3DataSource: S3Source


class TransformInputSpec(RequestShape):
    DataSource: DataSource
    ContentType: Annotated[str, Field(max_length=256)] | None = None
    CompressionType: Literal["None", "Gzip"] = "None"
    SplitType: Literal["None", "Line", "RecordIO", "TFRecord"] = "None"


class TransformOutputSpec(RequestShape):
    S3OutputPath: Annotated[str, Field(max_length=1024)]
    Accept: Annotated[str, Field(max_length=256)] | None = None


class TransformResourcesSpec(RequestShape):
    InstanceType: str
    InstanceCount: Annotated[int, Field(ge=1)]


class CreateTransformJobRequest(RequestShape):
    TransformJobName: ResourceName
    ModelName: ResourceName
    TransformInput: TransformInputSpec
    TransformOutput: TransformOutputSpec
    TransformResources: TransformResourcesSpec
    Environment: Annotated[dict[str, str], Field(default_factory=dict, max_length=16)]


def _check_support(request: CreateTransformJobRequest) -> None:
    given = request.TransformInput
    if given.DataSource.S3DataSource.S3DataType != "S3Prefix":
        raise InvalidRequest(
            f"S3DataType '{given.DataSource.S3DataSource.S3DataType}' is not supported by roost's batch "
            "transform: use 'S3Prefix' (every file under the prefix is one image)"
        )
    if given.SplitType != "None" or given.CompressionType != "None":
        raise InvalidRequest(
            "The image-classification algorithm takes one image per file: use SplitType 'None' and "
            "CompressionType 'None'"
        )


class _Events:
    """What the transform process reports: its pid (for recovery), its lines (the log stream), a stop."""

    def __init__(self, jobs: TransformJobs, name: str, stream: LogStreamWriter) -> None:
        self.jobs, self.name, self.stream = jobs, name, stream

    def started(self, pid: int, start_ticks: int | None) -> None:
        self.jobs.keep(self.name, pid=[pid, start_ticks])

    def line(self, text: str) -> None:
        self.stream.write(text)

    def stopping(self, reason: StopReason) -> None:
        self.jobs.move(self.name, _J.STOPPING)


class TransformJobs:
    """The transform jobs' operations, and their side of the job queue (a `JobDriver`)."""

    def __init__(
        self,
        store: Store,
        storage: Storage,
        models: Models,
        tags: Tags,
        log_streams: LogStreams,
        jobs_dir: Path,
        *,
        command: Sequence[str] = TRANSFORM_COMMAND,
        stop_grace_s: float = STOP_GRACE_S,
        max_concurrent: int = 1,
    ) -> None:
        self.table = ResourceTable(store, "transform_jobs")
        self.storage, self.models, self.tags, self.jobs_dir = storage, models, tags, jobs_dir
        self.log_streams = log_streams
        self.executor = LocalExecutor(command, stop_grace_s=stop_grace_s)
        self.queue = JobQueue(self, max_concurrent=max_concurrent)
        tags.register("transform-job", self.table.has_arn)

    # -- operations ---------------------------------------------------------------------------------------

    def create(self, raw: Mapping[str, Any], region: str) -> Resource:
        request: CreateTransformJobRequest = parse(CreateTransformJobRequest, raw, "CreateTransformJob")
        _check_support(request)
        self.models.describe(request.ModelName, region)
        self.storage.channel_files(request.TransformInput.DataSource.S3DataSource.S3Uri)
        self.storage.check_output(request.TransformOutput.S3OutputPath)
        now = time.time()
        job = Resource(
            name=request.TransformJobName,
            arn=resource_arn("transform-job", request.TransformJobName, region),
            request=request.model_dump(mode="json", exclude_none=True),
            creation_time=now,
            last_modified_time=now,
            status=str(_J.IN_PROGRESS),
            state={},
        )
        if not self.table.tagged(self.tags, raw, job):
            raise InvalidRequest(
                "Transform job names must be unique within an AWS account and region, and a transform job "
                f"with this name already exists ({job.arn})"
            )
        self.queue.wake()
        return job

    def describe(self, name: str, region: str) -> Resource:
        job = self.table.get(name)
        if job is None:
            raise not_found("transform job", resource_arn("transform-job", name, region))
        return job

    def list(self, query: JobQuery) -> list[Resource]:
        return self.table.query(query)

    def stop(self, name: str, region: str) -> None:
        job = self.describe(name, region)
        if job.status == _J.STOPPING:
            return
        if self.move(job.name, _J.STOPPING) is None:
            raise InvalidRequest(
                f"The request was rejected because the transform job is in status {job.status}."
            )
        self.queue.request_stop(job.name)

    # -- state ---------------------------------------------------------------------------------------------

    def move(self, name: str, status: JobStatus, **state: Any) -> Resource | None:
        """A move the job lifecycle allows, with `state` (and FailureReason) recorded with it."""
        reason = state.pop("failure_reason", None)
        current = self.table.get(name)
        if current is None:
            return None
        changes: dict[str, Any] = {"status": str(status), "state": {**(current.state or {}), **state}}
        if reason is not None:
            changes["failure_reason"] = reason[:FAILURE_LIMIT]
        return self.table.change(name, only_from=JOB.into(status), **changes)

    def keep(self, name: str, **state: Any) -> None:
        current = self.table.get(name)
        if current is not None:
            self.table.change(name, state={**(current.state or {}), **state})

    # -- the queue's driver ---------------------------------------------------------------------------------

    def waiting(self) -> list[Waiting]:
        jobs = self.table.with_status((str(_J.IN_PROGRESS), str(_J.STOPPING)))
        return [
            Waiting(job.name, stopped=job.status == _J.STOPPING)
            for job in jobs
            if job.status == _J.STOPPING or "start_time" not in (job.state or {})
        ]

    def cancel(self, name: str) -> None:
        self.move(name, _J.STOPPED, end_time=time.time())

    def recover(self) -> None:
        for job in self.table.with_status((str(_J.IN_PROGRESS), str(_J.STOPPING))):
            state = job.state or {}
            if "pid" in state:
                self.executor.kill_orphan(*state["pid"])
            if job.status == _J.STOPPING:
                self.move(job.name, _J.STOPPED, end_time=time.time())
            elif "start_time" in state:
                self.move(
                    job.name,
                    _J.FAILED,
                    end_time=time.time(),
                    failure_reason="InternalServerError: the roost server stopped while this transform job "
                    "was in progress, and its process was lost. Create the job again to run it.",
                )

    def run(self, name: str, control: StopControl) -> None:
        try:
            self._run(name, control)
        except Exception as error:  # the job still ends, whatever failed
            log.exception("transform job %s could not be run", name)
            self.move(name, _J.FAILED, end_time=time.time(), failure_reason=f"InternalServerError: {error!r}")

    def _lay_out(self, job_dir: JobDirectory, request: CreateTransformJobRequest) -> None:
        shutil.rmtree(job_dir.root, ignore_errors=True)
        model = self.models.table.get(request.ModelName)
        if model is None:
            raise UserError(f'Could not find model "{request.ModelName}".')
        location = self.storage.resolve(container(model)["ModelDataUrl"])
        job_dir.model.mkdir(parents=True)
        self.storage.fetch(ChannelFile("model.tar.gz", location), job_dir.model / "model.tar.gz")
        for file in self.storage.channel_files(request.TransformInput.DataSource.S3DataSource.S3Uri):
            self.storage.fetch(file, job_dir.data / file.relative)
        job_dir.config.mkdir(parents=True, exist_ok=True)
        config = {"ContentType": request.TransformInput.ContentType, "Accept": request.TransformOutput.Accept}
        (job_dir.config / "transform.json").write_text(json.dumps(config))

    def _run(self, name: str, control: StopControl) -> None:
        job = self.table.get(name)
        assert job is not None
        request = CreateTransformJobRequest.model_validate(job.request)
        started = time.time()
        if self.move(name, _J.IN_PROGRESS, start_time=started) is None:
            return
        job_dir = JobDirectory(self.jobs_dir / name)
        try:
            self._lay_out(job_dir, request)
        except (UserError, OSError, BotoCoreError, ClientError) as error:
            self.move(name, _J.FAILED, end_time=time.time(), failure_reason=f"ClientError: {error}")
            return
        stream = self.log_streams.writer(
            name, started, group=LOG_GROUP, name=f"{name}/i-{secrets.token_hex(8)}"
        )
        environment = {
            **passed_environment(request.Environment),  # an allowlist: see job_environment
            "TRANSFORM_JOB_NAME": name,
            "TRANSFORM_JOB_ARN": job.arn,
        }
        outcome = self.executor.execute(job_dir.root, environment, control, _Events(self, name, stream))
        ended = time.time()
        if outcome.stop_reason is not None:
            self.move(name, _J.STOPPED, end_time=ended)
        elif outcome.error is not None:
            self.move(
                name, _J.FAILED, end_time=ended, failure_reason=f"InternalServerError: {outcome.error!r}"
            )
        elif outcome.returncode != 0:
            self.move(
                name,
                _J.FAILED,
                end_time=ended,
                failure_reason=self._failure(job_dir, outcome.returncode, stream),
            )
        else:
            self._upload(name, job_dir, request, ended)

    def _upload(
        self, name: str, job_dir: JobDirectory, request: CreateTransformJobRequest, ended: float
    ) -> None:
        answers = job_dir.output / "data"
        try:
            for path in sorted(p for p in answers.rglob("*.out") if p.is_file()):
                self.storage.put(
                    path, join(request.TransformOutput.S3OutputPath, path.relative_to(answers).as_posix())
                )
        except (UserError, OSError, BotoCoreError, ClientError) as error:
            reason = (
                f"ClientError: could not write the output to {request.TransformOutput.S3OutputPath}: {error}"
            )
            self.move(name, _J.FAILED, end_time=ended, failure_reason=reason)
            return
        if self.move(name, _J.COMPLETED, end_time=ended) is None:  # a stop arrived while uploading
            self.move(name, _J.STOPPED, end_time=ended)

    @staticmethod
    def _failure(job_dir: JobDirectory, returncode: int, stream: LogStreamWriter) -> str:
        written = job_dir.failure_reason()
        if written is not None:
            return written
        how = (
            f"was killed by {signal.Signals(-returncode).name}"
            if returncode < 0
            else f"exited with code {returncode}"
        )
        return f"AlgorithmError: the transform process {how}; see the log stream {stream.name} of {LOG_GROUP}"
