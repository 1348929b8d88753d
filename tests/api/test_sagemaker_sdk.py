"""The SageMaker Python SDK trains through the server as the workshop's notebooks do."""

import boto3
import pytest
from roost_server import AWS_ENV

sagemaker = pytest.importorskip(
    "sagemaker", reason="needs the SageMaker Python SDK (pip install 'sagemaker<3')"
)


ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


@pytest.fixture
def session(server, monkeypatch):
    for key, value in {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": server.url,
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }.items():
        monkeypatch.setenv(key, value)  # every client the SDK makes (sagemaker, logs, s3, cloudwatch)
    boto_session = boto3.Session(region_name="us-east-1")
    return sagemaker.Session(boto_session=boto_session, sagemaker_client=server.client("sagemaker"))


def test_estimator_fit_streams_the_log_and_gives_the_model(server, session, capsys):
    estimator = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        role=ROLE,
        instance_count=1,
        instance_type="ml.p2.xlarge",
        volume_size=50,
        max_run=1800,
        input_mode="File",
        output_path="s3://birds/sdk-output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        num_classes=2,
        num_training_samples=16,
        epochs=2,
        num_layers=20,
        image_shape="3,28,28",
        mini_batch_size=4,
    )
    channels = {
        name: sagemaker.inputs.TrainingInput(
            f"s3://birds/{name}/", distribution="FullyReplicated", content_type="application/x-recordio"
        )
        for name in ("train", "validation")
    }
    estimator.fit(channels, logs=True, job_name="sdk-birds")
    printed = capsys.readouterr().out
    assert "Epoch[1] Validation-accuracy=0.410000" in printed
    assert "Training seconds:" in printed
    assert estimator.model_data == "s3://birds/sdk-output/sdk-birds/output/model.tar.gz"
    assert (server.data_root / "birds/sdk-output/sdk-birds/output/model.tar.gz").is_file()


def test_upload_fit_attach_tags_logs_and_accuracy_by_epoch(server, session, tmp_path, capsys):
    local = tmp_path / "lab1"
    for name in ("train", "validation"):
        (local / name).mkdir(parents=True)
        (local / name / f"birds_{name}.rec").write_bytes(b"records " + name.encode())
    prefix = session.upload_data(str(local), bucket="birds", key_prefix="sdk-lab1")
    assert prefix == "s3://birds/sdk-lab1"
    assert (server.data_root / "birds/sdk-lab1/train/birds_train.rec").read_bytes() == b"records train"
    # The SDK asks STS at AWS's own address for its default bucket's name: name it, and it is created.
    named = sagemaker.Session(
        boto_session=session.boto_session,
        sagemaker_client=session.sagemaker_client,
        default_bucket="sdk-default",
    )
    assert named.upload_data(str(local / "train"), key_prefix="lab1") == "s3://sdk-default/lab1"
    assert (server.data_root / "sdk-default/lab1/birds_train.rec").is_file()

    estimator = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        role=ROLE,
        instance_count=1,
        instance_type="ml.p2.xlarge",
        output_path="s3://birds/sdk-attach",
        sagemaker_session=session,
        tags=[{"Key": "workshop", "Value": "birds"}],
        # The fake algorithm's epochs 1.1 s apart: one metric point per second, so period=1 sees each.
        hyperparameters={
            "num_classes": 2,
            "num_training_samples": 16,
            "epochs": 2,
            "_fake_epoch_seconds": 1.1,
        },
    )
    channels = {name: f"{prefix}/{name}/" for name in ("train", "validation")}
    estimator.fit(channels, wait=False, job_name="sdk-attach")

    attached = sagemaker.estimator.Estimator.attach("sdk-attach", sagemaker_session=session)
    attached.logs()  # waits for the job, printing its log
    assert "Epoch[1] Validation-accuracy=0.410000" in capsys.readouterr().out
    assert attached.model_data == "s3://birds/sdk-attach/sdk-attach/output/model.tar.gz"
    assert attached.hyperparameters()["epochs"] == "2"
    arn = attached.latest_training_job.describe()["TrainingJobArn"]
    assert session.list_tags(arn) == [{"Key": "workshop", "Value": "birds"}]

    analytics = sagemaker.analytics.TrainingJobAnalytics(
        "sdk-attach", metric_names=["validation:accuracy"], sagemaker_session=session, period=1
    )
    assert list(analytics.dataframe()["value"]) == pytest.approx([0.40, 0.41])
    # The SDK's default period (a minute) averages the epochs of a minute, as CloudWatch does.
    frame = attached.training_job_analytics.dataframe()
    assert {"train:accuracy", "validation:accuracy"} <= set(frame["metric_name"])
    assert all(0.4 <= v <= 0.51 for v in frame[frame["metric_name"].str.endswith("accuracy")]["value"])

    model = tmp_path / "model"
    sagemaker.s3.S3Downloader.download(attached.model_data, str(model), sagemaker_session=session)
    assert (model / "model.tar.gz").stat().st_size > 0
