"""Helpers for the hosting tests: a tiny model in the data root, the Lab 3 requests, photos as JPEG."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2

from inference.endpoint_helpers import make_model
from photos import photo

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
NUM_CLASSES = 4  # make_model's


def put_tiny_model(data_root: Path, key: str = "birds/lab3/output/model.tar.gz") -> str:
    """A ResNet-20 (3,28,28) model.tar.gz at s3://<key> under the data root; returns its URI."""
    target = data_root / key
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(make_model(target.parent / "build").archive, target)
    shutil.rmtree(target.parent / "build")
    return f"s3://{key}"


def jpeg(seed: int = 0) -> bytes:
    ok, data = cv2.imencode(".jpg", photo(48, 40, seed))
    assert ok
    return data.tobytes()


def create_model(sagemaker, name: str, model_url: str) -> None:
    sagemaker.create_model(
        ModelName=name, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_url}, ExecutionRoleArn=ROLE
    )


def deploy(
    sagemaker, name: str, model_url: str, variants: dict[str, float] | None = None, create_models: bool = True
) -> None:
    """Lab 3's three calls: a model per variant (`<name>-<variant>`), an endpoint configuration, the
    endpoint."""
    variants = variants or {"AllTraffic": 1.0}
    for variant in variants if create_models else ():
        create_model(sagemaker, f"{name}-{variant}".lower(), model_url)
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": f"{name}-{variant}".lower(),
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": weight,
            }
            for variant, weight in variants.items()
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def wait_in_service(sagemaker, name: str) -> dict:
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
    )
    return sagemaker.describe_endpoint(EndpointName=name)


def instance_pids(endpoint: str) -> list[int]:
    """The `roost serve` processes of an endpoint (their model file lies in its folder)."""
    marker = f"/endpoints/{endpoint}/".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"serve\0" in command and marker in command:
            found.append(int(pid))
    return found
