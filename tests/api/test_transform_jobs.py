"""Batch transform through boto3 against a real server: a prefix of photos in, one `.out` per photo."""

import contextlib
import json

import pytest
from botocore.exceptions import ClientError, WaiterError
from hosting import IMAGE, NUM_CLASSES, ROLE, jpeg, put_tiny_model


@pytest.fixture(scope="module")
def model(server, data_root) -> str:
    server.client("sagemaker").create_model(
        ModelName="batch",
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": put_tiny_model(data_root, "birds/batch/model.tar.gz"),
        },
        ExecutionRoleArn=ROLE,
    )
    return "batch"


def _photos(data_root, prefix: str, names: list[str]) -> None:
    for seed, name in enumerate(names):
        path = data_root / "birds" / prefix / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg(seed))


def _create(sagemaker, name: str, model: str, prefix: str, **output) -> None:
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://birds/{prefix}/"}},
            "ContentType": "application/x-image",
        },
        TransformOutput={"S3OutputPath": f"s3://birds/{name}-out", **output},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    )


def _wait(sagemaker, name: str) -> dict:
    waiter = sagemaker.get_waiter("transform_job_completed_or_stopped")
    with contextlib.suppress(WaiterError):  # Failed: the test reads why
        waiter.wait(TransformJobName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
    return sagemaker.describe_transform_job(TransformJobName=name)


def test_every_photo_gets_its_answer(server, model, data_root):
    sagemaker = server.client("sagemaker")
    _photos(data_root, "arrived", ["a.jpg", "b.jpg", "nested/c.jpg"])
    _create(sagemaker, "lab4", model, "arrived", Accept="application/jsonlines")
    assert sagemaker.describe_transform_job(TransformJobName="lab4")["TransformJobStatus"] == "InProgress"
    job = _wait(sagemaker, "lab4")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TransformEndTime"] >= job["TransformStartTime"]
    assert job["TransformOutput"]["S3OutputPath"] == "s3://birds/lab4-out"
    out = data_root / "birds" / "lab4-out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.out")) == [
        "a.jpg.out",
        "b.jpg.out",
        "nested/c.jpg.out",
    ]
    answer = json.loads((out / "a.jpg.out").read_text())["prediction"]
    assert len(answer) == NUM_CLASSES and sum(answer) == pytest.approx(1, abs=1e-5)

    summaries = sagemaker.list_transform_jobs(NameContains="lab4")["TransformJobSummaries"]
    assert [(s["TransformJobName"], s["TransformJobStatus"]) for s in summaries] == [("lab4", "Completed")]
    logs = server.client("logs")
    (stream,) = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="lab4/"
    )["logStreams"]
    messages = [
        e["message"]
        for e in logs.get_log_events(
            logGroupName="/aws/sagemaker/TransformJobs",
            logStreamName=stream["logStreamName"],
            startFromHead=True,
        )["events"]
    ]
    assert any(m.endswith("] 3 of 3 files transformed") for m in messages)
    with pytest.raises(ClientError, match="transform job is in status Completed"):
        sagemaker.stop_transform_job(TransformJobName="lab4")
    with pytest.raises(ClientError, match="already exists"):
        _create(sagemaker, "lab4", model, "arrived")


def test_a_file_that_is_not_a_photo_fails_the_job_naming_it(server, model, data_root):
    sagemaker = server.client("sagemaker")
    _photos(data_root, "mixed", ["good.jpg"])
    (data_root / "birds" / "mixed" / "notes.txt").write_text("not a photo")
    _create(sagemaker, "mixed", model, "mixed")
    job = _wait(sagemaker, "mixed")
    assert job["TransformJobStatus"] == "Failed"
    assert "Loading image data failed" in job["FailureReason"] and "notes.txt" in job["FailureReason"]
    assert not (data_root / "birds" / "mixed-out").exists()


def test_create_transform_job_checks_its_request(server, model):
    sagemaker = server.client("sagemaker")
    with pytest.raises(
        ClientError, match='Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/absent"'
    ):
        _create(sagemaker, "no-model", "absent", "arrived")
    with pytest.raises(ClientError, match="No S3 objects found"):
        _create(sagemaker, "no-input", model, "nothing-here")
    with pytest.raises(ClientError, match="Could not find transform job"):
        sagemaker.describe_transform_job(TransformJobName="never")
