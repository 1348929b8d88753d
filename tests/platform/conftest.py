"""Platform fixtures: a data root with a bucket, requests in the workshop's shape, a fake algorithm."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).with_name("fake_algorithm.py")))


def workshop_request(name: str = "birds13-07", bucket: str = "birds", **overrides) -> dict:
    """The workshop's Lab 2 job (small), as `aws sagemaker create-training-job` sends it."""
    request = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "AlgorithmSpecification": {
            "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            "TrainingInputMode": "File",
        },
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.p2.xlarge", "VolumeSizeInGB": 50},
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3Uri": f"s3://{bucket}/{channel}/",
                    }
                },
                "ContentType": "application/x-recordio",
                "CompressionType": "None",
                "RecordWrapperType": "None",
            }
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/"},
        "HyperParameters": {
            "num_classes": "2",
            "num_training_samples": "8",
            "epochs": "2",
            "num_layers": "20",
            "image_shape": "3,28,28",
            "mini_batch_size": "4",
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }
    request.update(overrides)
    return request


@pytest.fixture
def make_request():
    return workshop_request


@pytest.fixture
def fake_algorithm() -> tuple[str, ...]:
    return FAKE_ALGORITHM


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A data root with bucket `birds` holding train/ and validation/ (the files' bytes don't matter here)."""
    root = tmp_path / "data"
    for channel in ("train", "validation"):
        folder = root / "birds" / channel
        folder.mkdir(parents=True)
        (folder / f"birds_{channel}.rec").write_bytes(b"records")
        (folder / f"birds_{channel}.idx").write_text("0\t0\n")
    return root
