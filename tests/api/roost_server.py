"""Helpers for API tests: a real server process on a free port, boto3 clients, the workshop's request."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).parent
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    state_dir: Path
    data_root: Path

    def client(self, service: str, **config):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def kill(self, signum: int = signal.SIGKILL) -> None:
        self.process.send_signal(signum)
        self.process.wait(timeout=60)


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, **AWS_ENV})
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"listening on (http://\S+)", first)
    if found is None:
        process.kill()
        raise AssertionError(f"the server did not start: {first}{process.stderr.read()}")
    return process, found.group(1)


def fake_server(state_dir: Path, data_root: Path, grace: float = 2.0) -> Server:
    process, url = start_server(
        [sys.executable, str(HERE / "fake_server.py"), str(state_dir), str(data_root), str(grace)]
    )
    return Server(process, url, state_dir, data_root)


def write_channel(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.rec").write_bytes(b"records")


def channel(name: str, uri: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
                "S3Uri": uri,
            }
        },
        "ContentType": "application/x-recordio",
        "CompressionType": "None",
        "RecordWrapperType": "None",
    }


def lab2_request(name: str, *, bucket: str = "birds", epochs: int = 2, **overrides) -> dict:
    """The workshop's Lab 2 request (boto3's create_training_job arguments), tiny."""
    request = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "AlgorithmSpecification": {
            "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            "TrainingInputMode": "File",
        },
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.p2.xlarge", "VolumeSizeInGB": 50},
        "InputDataConfig": [
            channel("train", f"s3://{bucket}/train/"),
            channel("validation", f"s3://{bucket}/validation/"),
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/"},
        "HyperParameters": {
            "num_classes": "2",
            "num_training_samples": "16",
            "epochs": str(epochs),
            "num_layers": "20",
            "image_shape": "3,28,28",
            "mini_batch_size": "4",
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }
    request.update(overrides)
    return request


def wait_until(predicate, timeout: float = 60, every: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")
