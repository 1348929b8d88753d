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


LEARNING_RATE_RANGE = {
    "Name": "learning_rate",
    "MinValue": "0.001",
    "MaxValue": "0.5",
    "ScalingType": "Logarithmic",
}


def tuning_request(
    name: str = "birds-tuning",
    *,
    strategy: str = "Bayesian",
    max_jobs: int | None = 3,
    max_parallel: int = 1,
    ranges: dict | None = None,
    epochs: int = 2,
    fake_mode: str | None = None,
    **config: Any,
) -> dict:
    """create_hyper_parameter_tuning_job's arguments: the workshop's job as the definition, tuned on
    validation:accuracy (by default over learning_rate, log scale)."""
    job = workshop_request(epochs=epochs, fake_mode=fake_mode)
    limits = {"MaxParallelTrainingJobs": max_parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    definition = {
        key: job[key]
        for key in (
            "RoleArn",
            "AlgorithmSpecification",
            "ResourceConfig",
            "InputDataConfig",
            "OutputDataConfig",
            "StoppingCondition",
        )
    }
    definition["StaticHyperParameters"] = job["HyperParameters"]
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
            "ResourceLimits": limits,
            "ParameterRanges": {"ContinuousParameterRanges": [LEARNING_RATE_RANGE]}
            if ranges is None
            else ranges,
            **config,
        },
        "TrainingJobDefinition": definition,
    }
