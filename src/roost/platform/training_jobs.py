"""The training-job operations behind every front door: create, describe, list, stop.

The HTTP API (SageMaker's protocol) and `roost train` both go through here, so a request is validated the
same way whichever door it came in by.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from roost.algorithm.hyperparameters import HyperparameterField, hyperparameter_errors, hyperparameter_fields
from roost.platform.channel_contents import ChannelContents, channel_contents
from roost.platform.defaults import STOP_GRACE_S
from roost.platform.errors import InvalidRequest, JobNotFound
from roost.platform.instances import instance_mapping
from roost.platform.job_queue import JobQueue
from roost.platform.job_transitions import JobTransitions
from roost.platform.lifecycle import JobStatus, SecondaryStatus
from roost.platform.local_executor import TRAINING_COMMAND, LocalExecutor
from roost.platform.log_streams import LogStreams
from roost.platform.metrics import Metrics
from roost.platform.request import CreateTrainingJobRequest, parse_request, request_problems
from roost.platform.storage import S3Object, Storage
from roost.platform.store import JobQuery, JobRecord, Store
from roost.platform.tags import Tags, parse_tags
from roost.platform.training_job_driver import LineCallback, TrainingJobDriver

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


def job_arn(name: str, role_arn: str, region: str, kind: str = "training-job") -> str:
    # SageMaker lower-cases the name in the ARN and takes the account from the caller (here: the role's).
    found = re.search(r"::(\d{12}):", role_arn)
    account = found.group(1) if found else DEFAULT_ACCOUNT
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def validate_request(raw: Mapping[str, Any], storage: Storage) -> CreateTrainingJobRequest:
    """Everything CreateTrainingJob checks before it stores a job: shape, algorithm, data, output."""
    request = parse_request(raw)
    for channel in request.InputDataConfig:
        assert channel.DataSource.S3DataSource is not None  # parse_request refuses channels without one
        storage.channel_files(channel.DataSource.S3DataSource.S3Uri)
    storage.check_output(request.OutputDataConfig.S3OutputPath)
    return request


class TrainingJobs:
    """Training jobs in a store, run from a queue, with channels and output in a storage, tagged in `tags`."""

    def __init__(
        self,
        store: Store,
        storage: Storage,
        log_streams: LogStreams,
        queue: JobQueue,
        tags: Tags,
        metrics: Metrics,
    ) -> None:
        self.store, self.storage, self.log_streams, self.queue = store, storage, log_streams, queue
        self.tags, self.metrics = tags, metrics
        self.transitions = JobTransitions(store)
        tags.register("training-job", self._exists)

    @classmethod
    def open(
        cls,
        state_dir: Path,
        storage: Storage,
        *,
        command: Sequence[str] = TRAINING_COMMAND,
        stop_grace_s: float = STOP_GRACE_S,
        max_concurrent: int = 1,
        on_line: LineCallback | None = None,
    ) -> TrainingJobs:
        """The jobs kept under `state_dir` (roost.db, jobs/<name>/), not yet running anything."""
        # Absolute: the algorithm gets its job directory as an argument *and* as its working directory.
        state_dir = state_dir.resolve()
        store = Store(state_dir / "roost.db")
        log_streams = LogStreams(store)
        metrics = Metrics(store)
        executor = LocalExecutor(command, stop_grace_s=stop_grace_s)
        driver = TrainingJobDriver(
            store, storage, log_streams, state_dir / "jobs", executor, metrics, on_line
        )
        queue = JobQueue(driver, max_concurrent=max_concurrent)
        return cls(store, storage, log_streams, queue, Tags(store), metrics)

    def _exists(self, arn: str) -> bool:
        return bool(self.store.read("SELECT 1 FROM jobs WHERE arn = ?", (arn,)))

    def validate(self, raw: Mapping[str, Any]) -> CreateTrainingJobRequest:
        return validate_request(raw, self.storage)

    def create(self, raw: Mapping[str, Any], *, region: str = DEFAULT_REGION) -> JobRecord:
        request = self.validate(raw)
        tags = parse_tags(raw.get("Tags") or [])  # checked before the job exists: a bad tag stores nothing
        now = time.time()
        resources = request.ResourceConfig
        record = JobRecord(
            name=request.TrainingJobName,
            arn=job_arn(request.TrainingJobName, request.RoleArn, region),
            request=request.model_dump(mode="json", exclude_none=True),
            status=JobStatus.IN_PROGRESS,
            secondary_status=SecondaryStatus.STARTING,
            creation_time=now,
            last_modified_time=now,
            transitions=[
                {
                    "Status": SecondaryStatus.STARTING,
                    "StartTime": now,
                    "StatusMessage": "Preparing the instances for training: "
                    + instance_mapping(resources.InstanceType, resources.InstanceCount),
                }
            ],
        )
        self.store.create(record)
        if tags:
            self.tags.add(record.arn, tags)
        self.queue.wake()
        return record

    def describe(self, name: str) -> JobRecord:
        record = self.store.get(name)
        if record is None:
            raise JobNotFound("Requested resource not found.")  # SageMaker's words; the name was the caller's
        return record

    def list(self, query: JobQuery) -> list[JobRecord]:
        return self.store.query(query)

    def stop(self, name: str) -> JobRecord:
        record = self.transitions.stopping(name, "Stopping the training job")
        if record is None:
            current = self.describe(name)
            raise InvalidRequest(
                f"The request was rejected because the training job is in status {current.status}."
            )
        self.queue.request_stop(name)
        return record

    # -- what a form needs while a request is written ------------------------------------------------------

    def hyperparameter_fields(self) -> list[HyperparameterField]:
        return hyperparameter_fields()

    def request_problems(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Each member's problem by its path, in the words CreateTrainingJob would refuse it with."""
        return request_problems(raw)

    def hyperparameter_problems(self, values: Mapping[str, str]) -> dict[str, str]:
        """Each hyperparameter's problem, in the words CreateTrainingJob would refuse it with."""
        return hyperparameter_errors(values)

    def channel_contents(self, uri: str) -> ChannelContents:
        return channel_contents(self.storage, uri)

    def model_artifact_file(self, name: str) -> Path | None:
        """The local file of a job's model.tar.gz; None while there is none, or when it is in real S3."""
        uri = self.describe(name).model_artifacts
        location = self.storage.resolve(uri) if uri else None
        if isinstance(location, S3Object) or location is None or not location.is_file():
            return None
        return location
