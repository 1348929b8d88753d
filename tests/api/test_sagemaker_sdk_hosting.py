"""The SageMaker Python SDK deploys and invokes through the server as the Lab 3 notebook does."""

import json
import time

import boto3
import pytest
from hosting import IMAGE, NUM_CLASSES, ROLE, jpeg, put_tiny_model
from roost_server import AWS_ENV

sagemaker = pytest.importorskip(
    "sagemaker", reason="needs the SageMaker Python SDK (pip install 'sagemaker<3')"
)
from sagemaker.serializers import IdentitySerializer  # noqa: E402

_sleep = time.sleep


@pytest.fixture
def session(server, monkeypatch):
    for key, value in {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": server.url,
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }.items():
        monkeypatch.setenv(key, value)  # every client the SDK makes goes to the server
    # The SDK looks at a deploying endpoint every 30 s; a tiny model is up in a few.
    monkeypatch.setattr(sagemaker.session.time, "sleep", lambda seconds: _sleep(min(seconds, 0.5)))
    return sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"))


def _probabilities(answer: bytes) -> list[float]:
    probabilities = json.loads(answer)
    assert len(probabilities) == NUM_CLASSES and sum(probabilities) == pytest.approx(1, abs=1e-5)
    return probabilities


def test_estimator_deploy_predict_delete(server, session):
    estimator = sagemaker.estimator.Estimator(
        image_uri=IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.p2.xlarge",
        output_path="s3://birds/sdk-deploy",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        num_classes=4, num_training_samples=16, epochs=1, num_layers=20, image_shape="3,28,28"
    )
    inputs = {
        name: sagemaker.inputs.TrainingInput(f"s3://birds/{name}/", content_type="application/x-recordio")
        for name in ("train", "validation")
    }
    estimator.fit(inputs, logs=False, job_name="sdk-deploy")
    # The server's fake algorithm leaves a stand-in artifact; an endpoint needs a real (tiny) model there.
    assert estimator.model_data == put_tiny_model(
        server.data_root, "birds/sdk-deploy/sdk-deploy/output/model.tar.gz"
    )

    predictor = estimator.deploy(
        1, "ml.m5.xlarge", endpoint_name="sdk-birds", serializer=IdentitySerializer("image/jpeg")
    )
    _probabilities(predictor.predict(jpeg()))
    predictor.delete_endpoint()

    # Lab 4's photos in a bucket, as a batch transform of the same model.
    for seed in range(3):
        photo = server.data_root / "birds" / "sdk-photos" / f"{seed}.jpg"
        photo.parent.mkdir(parents=True, exist_ok=True)
        photo.write_bytes(jpeg(seed))
    transformer = estimator.transformer(1, "ml.m5.xlarge", output_path="s3://birds/sdk-batch")
    transformer.transform("s3://birds/sdk-photos/", content_type="application/x-image", wait=True, logs=False)
    for seed in range(3):
        _probabilities((server.data_root / "birds" / "sdk-batch" / f"{seed}.jpg.out").read_bytes())
    sm = server.client("sagemaker")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="sdk-birds", WaiterConfig={"Delay": 0.5})
    assert sm.list_endpoint_configs(NameContains="sdk-birds")["EndpointConfigs"] == []


def test_model_deploy_and_predictor_by_name(server, session):
    model_data = put_tiny_model(server.data_root, "birds/sdk-model/model.tar.gz")
    model = sagemaker.model.Model(IMAGE, model_data, role=ROLE, sagemaker_session=session)
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="sdk-model")
    predictor = sagemaker.predictor.Predictor(
        "sdk-model", sagemaker_session=session, serializer=IdentitySerializer("application/x-image")
    )
    _probabilities(predictor.predict(jpeg(1)))
    predictor.delete_endpoint()
