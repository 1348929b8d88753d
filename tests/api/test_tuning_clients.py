"""The SageMaker SDK's HyperparameterTuner and the AWS CLI tune through the server as they would SageMaker."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from hosting import NUM_CLASSES, jpeg, put_tiny_model
from roost_server import AWS_ENV, wait_until

from workshop import tuning_request

AWS = Path(sys.executable).with_name("aws")
_sleep = time.sleep


def test_the_sdks_tuner_fits_and_finds_the_best_trial(server, monkeypatch):
    sagemaker = pytest.importorskip(
        "sagemaker", reason="needs the SageMaker Python SDK (pip install 'sagemaker<3')"
    )
    from sagemaker.serializers import IdentitySerializer
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    for key, value in {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": server.url,
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }.items():
        monkeypatch.setenv(key, value)
    # The SDK looks at a deploying endpoint every 30 s; a tiny model is up in a few.
    monkeypatch.setattr(sagemaker.session.time, "sleep", lambda seconds: _sleep(min(seconds, 0.5)))
    session = sagemaker.Session(
        boto_session=boto3.Session(region_name="us-east-1"), sagemaker_client=server.client("sagemaker")
    )
    estimator = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        role="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        instance_count=1,
        instance_type="ml.p2.xlarge",
        max_run=1800,
        output_path="s3://birds/sdk-tuning",
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
    tuner = HyperparameterTuner(
        estimator,
        "validation:accuracy",
        {
            "learning_rate": ContinuousParameter(0.001, 0.5, scaling_type="Logarithmic"),
            "mini_batch_size": IntegerParameter(2, 8),
        },
        max_jobs=3,
        max_parallel_jobs=1,
    )
    channels = {
        name: sagemaker.inputs.TrainingInput(f"s3://birds/{name}/", content_type="application/x-recordio")
        for name in ("train", "validation")
    }
    tuner.fit(channels, job_name="sdk-tuning")
    best = tuner.best_training_job()
    assert best.startswith("sdk-tuning-")
    pandas = pytest.importorskip("pandas", reason="tuner.analytics().dataframe() needs pandas")
    frame = tuner.analytics().dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == 3
    assert set(frame.columns) >= {
        "learning_rate",
        "mini_batch_size",
        "TrainingJobName",
        "FinalObjectiveValue",
    }
    assert frame.sort_values("FinalObjectiveValue").iloc[-1]["TrainingJobName"] == best
    assert tuner.best_estimator().model_data == f"s3://birds/sdk-tuning/{best}/output/model.tar.gz"
    attached = HyperparameterTuner.attach("sdk-tuning", sagemaker_session=session)
    assert attached.best_training_job() == best
    # The static hyperparameters the SDK sent, less the tuned one, went to every trial.
    trial = server.client("sagemaker").describe_training_job(TrainingJobName=best)
    assert trial["HyperParameters"]["num_classes"] == "2"
    assert 2 <= int(trial["HyperParameters"]["mini_batch_size"]) <= 8
    # tuner.deploy hosts the best trial's model (the fake algorithm's stand-in replaced by a tiny real one).
    put_tiny_model(server.data_root, f"birds/sdk-tuning/{best}/output/model.tar.gz")
    predictor = tuner.deploy(
        1, "ml.m5.xlarge", endpoint_name="sdk-tuned", serializer=IdentitySerializer("image/jpeg")
    )
    assert len(json.loads(predictor.predict(jpeg()))) == NUM_CLASSES
    predictor.delete_endpoint()


@pytest.mark.skipif(not AWS.exists(), reason=f"needs the AWS CLI at {AWS} (pip install awscli)")
def test_the_aws_cli_creates_a_tuning_job_from_json_files(server, tmp_path):
    request = tuning_request("cli-tuning", strategy="Grid", max_jobs=None)
    request["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}]
    }
    (tmp_path / "config.json").write_text(json.dumps(request["HyperParameterTuningJobConfig"]))
    (tmp_path / "definition.json").write_text(json.dumps(request["TrainingJobDefinition"]))

    def aws(*args: str) -> dict:
        done = subprocess.run(
            [str(AWS), "--endpoint-url", server.url, "--output", "json", "sagemaker", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **AWS_ENV},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout or "{}")

    created = aws(
        "create-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name", "cli-tuning",
        "--hyper-parameter-tuning-job-config", f"file://{tmp_path / 'config.json'}",
        "--training-job-definition", f"file://{tmp_path / 'definition.json'}",
    )  # fmt: skip
    assert created["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/cli-tuning")
    name = ["--hyper-parameter-tuning-job-name", "cli-tuning"]
    # botocore has no tuning-job waiter: poll as the SDK does.
    wait_until(
        lambda: (
            aws("describe-hyper-parameter-tuning-job", *name)["HyperParameterTuningJobStatus"] != "InProgress"
        ),
        every=1,
    )
    described = aws("describe-hyper-parameter-tuning-job", *name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    trials = aws("list-training-jobs-for-hyper-parameter-tuning-job", *name)["TrainingJobSummaries"]
    assert sorted(t["TunedHyperParameters"]["optimizer"] for t in trials) == ["adam", "sgd"]
