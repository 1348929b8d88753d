"""The training-job operations behind every front door: create, describe, list, stop.

The HTTP API (SageMaker's protocol) and `roost train` both go through here, so a request is validated the
same way whichever door it came in by.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roost.platform.errors import InvalidRequest, JobNotFound
from roost.platform.instances import instance_mapping
from roost.platform.request import CreateTrainingJobRequest, parse_request
from roost.platform.runner import Runner
from roost.platform.storage import Storage
from roost.platform.store import JobQuery, JobRecord, Store

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


def job_arn(name: str, role_arn: str, region: str, kind: str = "training-job") -> str:
    # SageMaker lower-cases the name in the ARN and takes the account from the caller (here: the role's).
    found = re.search(r"::(\d{12}):", role_arn)
    account = found.group(1) if found else DEFAULT_ACCOUNT
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


class TrainingJobs:
    """Training jobs in a store, run by a runner, with channels and output in a storage."""

    def __init__(self, store: Store, storage: Storage, runner: Runner) -> None:
        self.store, self.storage, self.runner = store, storage, runner

    @classmethod
    def open(cls, state_dir: Path, storage: Storage, **runner_options: Any) -> TrainingJobs:
        """The jobs kept under `state_dir` (roost.db, jobs/<name>/), not yet running anything."""
        store = Store(state_dir / "roost.db")
        return cls(store, storage, Runner(store, storage, state_dir / "jobs", **runner_options))

    def validate(self, raw: Mapping[str, Any]) -> CreateTrainingJobRequest:
        """Everything CreateTrainingJob checks before it stores a job: shape, algorithm, data, output."""
        request = parse_request(raw)
        for channel in request.InputDataConfig:
            assert channel.DataSource.S3DataSource is not None  # parse_request refuses channels without one
            self.storage.channel_files(channel.DataSource.S3DataSource.S3Uri)
        self.storage.check_output(request.OutputDataConfig.S3OutputPath)
        return request

    def create(self, raw: Mapping[str, Any], *, region: str = DEFAULT_REGION) -> JobRecord:
        request = self.validate(raw)
        now = time.time()
        resources = request.ResourceConfig
        record = JobRecord(
            name=request.TrainingJobName,
            arn=job_arn(request.TrainingJobName, request.RoleArn, region),
            request=request.model_dump(mode="json", exclude_none=True),
            status="InProgress",
            secondary_status="Starting",
            creation_time=now,
            last_modified_time=now,
            transitions=[
                {
                    "Status": "Starting",
                    "StartTime": now,
                    "StatusMessage": "Preparing the instances for training: "
                    + instance_mapping(resources.InstanceType, resources.InstanceCount),
                }
            ],
        )
        self.store.create(record)
        self.runner.wake()
        return record

    def describe(self, name: str) -> JobRecord:
        record = self.store.get(name)
        if record is None:
            raise JobNotFound(f"Requested resource not found: training job '{name}' does not exist")
        return record

    def list(self, query: JobQuery) -> list[JobRecord]:
        return self.store.query(query)

    def stop(self, name: str) -> JobRecord:
        record = self.store.stopping(name, "Stopping the training job")
        if record is None:
            current = self.describe(name)
            raise InvalidRequest(
                f"The request was rejected because the training job is in status {current.status}."
            )
        self.runner.request_stop(name)
        return record
