"""As a new user: `roost server`, the workshop's Lab 2 AWS CLI command on tiny RecordIO data, the log, the
artifact; then the same job with `roost train`. Runs the real algorithm (`roost algorithm train`)."""

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from roost_server import AWS_ENV, start_server

from roost.cli import COMMANDS
from roost.formats.recordio import IRHeader, RecordWriter, pack_img

pytestmark = pytest.mark.skipif("algorithm" not in COMMANDS, reason="needs the algorithm's entry point")
AWS = Path(sys.executable).with_name("aws")
HYPERPARAMETERS = {
    "num_classes": "2",
    "num_training_samples": "24",
    "epochs": "2",
    "num_layers": "20",
    "image_shape": "3,28,28",
    "mini_batch_size": "8",
}


def write_birds(root: Path) -> None:
    """Two "species" of 32x32 photos, dark and light, as Lab 1's im2rec would pack them."""
    rng = np.random.default_rng(0)
    for channel, count in (("train", 24), ("validation", 8)):
        folder = root / "birds" / channel
        folder.mkdir(parents=True)
        writer = RecordWriter(folder / f"birds_{channel}.rec", folder / f"birds_{channel}.idx")
        for key in range(count):
            label = key % 2
            image = (40 + 170 * label + rng.integers(0, 30, (32, 32, 3))).astype(np.uint8)
            writer.write_idx(key, pack_img(IRHeader(0, float(label), key, 0), image, quality=95))
        writer.close()


def roost(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "roost", *args], capture_output=True, text=True, timeout=600, **kwargs
    )


def test_lab2_with_the_aws_cli_then_roost_train(tmp_path):
    data = tmp_path / "data"
    write_birds(data)
    process, url = start_server(
        [sys.executable, "-m", "roost", "server", "--port", "0", "--state-dir", str(tmp_path / "state"),
         "--data-root", str(data), "--stop-grace-seconds", "10"]
    )  # fmt: skip
    try:
        channel = (
            "ChannelName={0},DataSource={{S3DataSource={{S3DataType=S3Prefix,S3DataDistributionType=FullyReplicated,"
            "S3Uri=s3://birds/{0}/}}}},ContentType=application/x-recordio,CompressionType=None,RecordWrapperType=None"
        )
        created = subprocess.run(
            [str(AWS), "--endpoint-url", url, "sagemaker", "create-training-job",
             "--training-job-name", "birds13-07",
             "--role-arn", "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
             "--algorithm-specification",
             "TrainingImage=811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1,TrainingInputMode=File",
             "--resource-config", "InstanceCount=1,InstanceType=ml.p2.xlarge,VolumeSizeInGB=50",
             "--input-data-config", channel.format("train"), channel.format("validation"),
             "--output-data-config", "S3OutputPath=s3://birds/",
             "--hyper-parameters", json.dumps(HYPERPARAMETERS),
             "--stopping-condition", "MaxRuntimeInSeconds=1800"],
            capture_output=True, text=True, env={**os.environ, **AWS_ENV}, timeout=120,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        logs = roost("logs", "birds13-07", "--follow", "--endpoint-url", url)
        assert logs.returncode == 0, logs.stdout + logs.stderr
        assert sum("Validation-accuracy=" in line for line in logs.stdout.splitlines()) == 2
        described = roost("jobs", "describe", "birds13-07", "--json", "--endpoint-url", url)
        job = json.loads(described.stdout)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {
            "train:accuracy", "validation:accuracy", "train:accuracy:epoch", "validation:accuracy:epoch"
        }  # fmt: skip
        with tarfile.open(data / "birds/birds13-07/output/model.tar.gz") as archive:
            names = archive.getnames()
        assert "image-classification-symbol.json" in names and "model-shapes.json" in names
        assert all("/" not in name for name in names), "a flat archive, as SageMaker's"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    trained = roost(
        "train", "--train", str(data / "birds/train"), "--validation", str(data / "birds/validation"),
        "--output", str(tmp_path / "models"), "--job-name", "local-birds",
        "--state-dir", str(tmp_path / "state"),
        *[f"-H{k}={v}" for k, v in HYPERPARAMETERS.items()],
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    artifact = tmp_path / "models/local-birds/output/model.tar.gz"
    assert trained.stdout.strip() == str(artifact)
    with tarfile.open(artifact) as archive:
        assert "image-classification-symbol.json" in archive.getnames()
