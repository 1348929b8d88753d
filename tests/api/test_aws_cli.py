"""The real AWS CLI, as the workshop's script calls it, with --endpoint-url."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from roost_server import AWS_ENV, wait_until

from workshop import workshop_request

AWS = Path(sys.executable).with_name("aws")
CHANNEL = (
    "ChannelName={name},DataSource={{S3DataSource={{S3DataType=S3Prefix,S3DataDistributionType=FullyReplicated,"
    "S3Uri=s3://birds/{name}/}}}},ContentType=application/x-recordio,CompressionType=None,RecordWrapperType=None"
)


def aws(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(AWS), "--endpoint-url", server.url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **AWS_ENV},
        timeout=120,
    )
    if check and done.returncode:
        raise AssertionError(done.stderr)
    return done


def describe(server, name: str) -> dict:
    return json.loads(aws(server, "sagemaker", "describe-training-job", "--training-job-name", name).stdout)


def create(server, name: str, epochs: int, *extra: str, fake_mode: str | None = None) -> None:
    hyperparameters = workshop_request(epochs=epochs, fake_mode=fake_mode)["HyperParameters"]
    aws(
        server,
        "sagemaker",
        "create-training-job",
        "--training-job-name", name,
        "--role-arn", "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "--algorithm-specification",
        "TrainingImage=811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1,TrainingInputMode=File",
        "--resource-config", "InstanceCount=1,InstanceType=ml.p2.xlarge,VolumeSizeInGB=50",
        "--input-data-config", CHANNEL.format(name="train"), CHANNEL.format(name="validation"),
        "--output-data-config", "S3OutputPath=s3://birds/",
        "--hyper-parameters", json.dumps(hyperparameters),
        "--stopping-condition", "MaxRuntimeInSeconds=1800",
        *extra,
    )  # fmt: skip


@pytest.mark.skipif(not AWS.exists(), reason=f"needs the AWS CLI at {AWS} (pip install awscli)")
def test_the_workshops_cli_session(server):
    create(server, "cli-birds", 2)
    wait_until(lambda: describe(server, "cli-birds")["TrainingJobStatus"] == "Completed", every=0.5)
    job = describe(server, "cli-birds")
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://birds/cli-birds/output/model.tar.gz"
    listed = json.loads(aws(server, "sagemaker", "list-training-jobs", "--name-contains", "cli-").stdout)
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["cli-birds"]

    stream = f"cli-birds/algo-1-{int(job['TrainingStartTime'])}"
    events = json.loads(
        aws(
            server,
            "logs",
            "get-log-events",
            "--log-group-name",
            "/aws/sagemaker/TrainingJobs",
            "--log-stream-name",
            stream,
            "--start-from-head",
        ).stdout
    )["events"]
    assert any("Epoch[1] Train-accuracy=0.510000" in e["message"] for e in events)
    found = json.loads(
        aws(
            server,
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/aws/sagemaker/TrainingJobs",
            "--log-stream-name-prefix",
            "cli-birds/",
            "--filter-pattern",
            '"Validation-accuracy"',
        ).stdout
    )
    assert [e["message"].split("] ", 1)[1] for e in found["events"]] == [
        "Epoch[0] Validation-accuracy=0.400000",
        "Epoch[1] Validation-accuracy=0.410000",
    ]

    duplicate = aws(
        server,
        "sagemaker",
        "create-training-job",
        "--cli-input-json",
        json.dumps(
            {
                **{
                    k: job[k]
                    for k in (
                        "AlgorithmSpecification",
                        "RoleArn",
                        "InputDataConfig",
                        "OutputDataConfig",
                        "ResourceConfig",
                        "HyperParameters",
                        "StoppingCondition",
                    )
                },
                "TrainingJobName": "cli-birds",
            }
        ),
        check=False,
    )
    assert "(ResourceInUse)" in duplicate.stderr


@pytest.mark.skipif(not AWS.exists(), reason=f"needs the AWS CLI at {AWS} (pip install awscli)")
def test_stop_from_the_cli(server):
    create(server, "cli-stop", 500, fake_mode="slow")
    wait_until(lambda: describe(server, "cli-stop")["SecondaryStatus"] == "Training", every=0.5)
    aws(server, "sagemaker", "stop-training-job", "--training-job-name", "cli-stop")
    wait_until(lambda: describe(server, "cli-stop")["TrainingJobStatus"] == "Stopped", every=0.5)
    again = aws(server, "sagemaker", "stop-training-job", "--training-job-name", "cli-stop", check=False)
    assert again.returncode != 0
    assert "(ValidationException)" in again.stderr and "status Stopped" in again.stderr
