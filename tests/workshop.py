"""The workshop's Lab 2 training-job request (what the AWS CLI, boto3 and the SDK send), made tiny."""

from __future__ import annotations

from typing import Any


def channel(name: str, uri: str) -> dict[str, Any]:
    """An InputDataConfig entry as the workshop's CLI script writes it."""
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


def workshop_request(
    name: str = "birds13-07",
    *,
    bucket: str = "birds",
    epochs: int = 2,
    fake_mode: str | None = None,
    **overrides: Any,
) -> dict:
    """create_training_job's arguments for Lab 2, with a network and images small enough for tests.

    `fake_mode` picks the fake algorithm's behaviour (tests/platform/fake_algorithm.py), through a
    hyperparameter that the real algorithm ignores (its name starts with `_`)."""
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
    if fake_mode is not None:
        request["HyperParameters"]["_fake_mode"] = fake_mode
    request.update(overrides)
    return request
