"""The AWS CLI's S3 commands (Lab 1's upload) and CloudWatch metrics against the same server."""

import filecmp
import json
import os

import pytest
from roost_server import wait_until
from test_aws_cli import AWS, aws, create, describe

pytestmark = pytest.mark.skipif(not AWS.exists(), reason=f"needs the AWS CLI at {AWS} (pip install awscli)")


def test_lab1_upload_sync_list_download_and_remove(server, tmp_path):
    photos = tmp_path / "upload"
    (photos / "lists").mkdir(parents=True)
    big = photos / "birds_train.rec"
    big.write_bytes(os.urandom(20 * 1024 * 1024))  # over the CLI's 8 MB threshold: a multipart upload
    (photos / "lists" / "birds train+1.lst").write_text("0\t1\tphoto.jpg\n")

    aws(server, "s3", "mb", "s3://lab1")
    aws(server, "s3", "cp", str(big), "s3://lab1/train/")
    stored = server.data_root / "lab1" / "train" / "birds_train.rec"
    assert filecmp.cmp(big, stored, shallow=False)
    head = json.loads(
        aws(server, "s3api", "head-object", "--bucket", "lab1", "--key", "train/birds_train.rec").stdout
    )
    assert head["ETag"].endswith('-3"')  # the CLI's 8 MB parts: S3's multipart ETag

    synced = aws(server, "s3", "sync", str(photos), "s3://lab1/sync/").stdout
    assert synced.count("upload:") == 2
    assert aws(server, "s3", "sync", str(photos), "s3://lab1/sync/").stdout.count("upload:") == 0

    listed = aws(server, "s3", "ls", "--recursive", "s3://lab1/").stdout
    assert "sync/lists/birds train+1.lst" in listed and "train/birds_train.rec" in listed
    top = aws(server, "s3", "ls", "s3://lab1/").stdout.split("\n")
    assert sorted(line.split()[-1] for line in top if line) == ["sync/", "train/"]

    down = tmp_path / "down"
    aws(server, "s3", "cp", "--recursive", "s3://lab1/sync/", str(down))
    assert filecmp.cmp(big, down / "birds_train.rec", shallow=False)
    assert (down / "lists" / "birds train+1.lst").read_text() == "0\t1\tphoto.jpg\n"

    aws(server, "s3", "rm", "--recursive", "s3://lab1/sync/")
    assert not (server.data_root / "lab1" / "sync").exists()
    missing = aws(server, "s3", "ls", "s3://no-such-bucket/", check=False)
    assert missing.returncode != 0 and "NoSuchBucket" in missing.stderr
    assert not list(server.data_root.rglob("*.partial"))


def test_training_metrics_from_the_cli(server):
    create(server, "cli-metrics", 2)
    wait_until(lambda: describe(server, "cli-metrics")["TrainingJobStatus"] == "Completed", every=0.5)
    job = describe(server, "cli-metrics")
    metrics = json.loads(
        aws(
            server, "cloudwatch", "list-metrics", "--namespace", "/aws/sagemaker/TrainingJobs",
            "--dimensions", "Name=TrainingJobName,Value=cli-metrics",
        ).stdout
    )["Metrics"]  # fmt: skip
    assert sorted(m["MetricName"] for m in metrics) == [
        "train:accuracy",
        "train:accuracy:epoch",
        "validation:accuracy",
        "validation:accuracy:epoch",
    ]
    start, end = str(int(job["TrainingStartTime"])), str(int(job["TrainingEndTime"]) + 60)
    statistics = json.loads(
        aws(
            server, "cloudwatch", "get-metric-statistics", "--namespace", "/aws/sagemaker/TrainingJobs",
            "--metric-name", "validation:accuracy", "--dimensions", "Name=TrainingJobName,Value=cli-metrics",
            "--start-time", start, "--end-time", end, "--period", "3600",
            "--statistics", "Maximum", "Minimum", "SampleCount",
        ).stdout
    )  # fmt: skip
    [point] = statistics["Datapoints"]
    assert (point["Minimum"], point["Maximum"], point["SampleCount"]) == (0.4, 0.41, 2.0)
    refused = aws(
        server, "cloudwatch", "get-metric-statistics", "--namespace", "/aws/sagemaker/TrainingJobs",
        "--metric-name", "validation:accuracy", "--start-time", "2026-01-02", "--end-time", "2026-01-01",
        "--period", "60", "--statistics", "Average", check=False,
    )  # fmt: skip
    assert "(InvalidParameterValue)" in refused.stderr and "StartTime must be less than" in refused.stderr
    groups = json.loads(aws(server, "logs", "describe-log-groups").stdout)["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/sagemaker/TrainingJobs"]
