"""The SageMaker Python SDK trains through the server as the workshop's notebooks do."""

import boto3
import pytest
from roost_server import AWS_ENV

sagemaker = pytest.importorskip(
    "sagemaker", reason="needs the SageMaker Python SDK (pip install 'sagemaker<3')"
)


def test_estimator_fit_streams_the_log_and_gives_the_model(server, monkeypatch, capsys):
    for key, value in {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": server.url,
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }.items():
        monkeypatch.setenv(key, value)  # every client the SDK makes (sagemaker, logs) goes to the server
    boto_session = boto3.Session(region_name="us-east-1")
    session = sagemaker.Session(boto_session=boto_session, sagemaker_client=server.client("sagemaker"))
    estimator = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        role="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
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
