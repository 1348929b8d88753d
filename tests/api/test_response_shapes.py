"""Every operation's answer, as sent on the wire, fits botocore's output shape for it: no required member
missing, no member of the wrong type or unknown to the clients (which would drop or choke on it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from roost_server import Server, wait_until

from roost.api.app import SERVICES
from roost.platform.api_shapes import shape_errors
from roost.platform.service_model import service
from workshop import tuning_request, workshop_request

# X-Amz-Target prefix -> botocore's service model.
MODELS = {"SageMaker": "sagemaker", "Logs_20140328": "logs", "GraniteServiceVersion20100801": "cloudwatch"}
GROUP = "/aws/sagemaker/TrainingJobs"
NOW = time.time()
Jobs = dict[str, str]  # what the fixture made: "arn", "stream", and the server's "url"
# Any file passes CreateModel; the endpoint and the transform job then fail on it, which is a state to
# describe too.
MODEL = {"Image": "image-classification", "ModelDataUrl": "s3://birds/train/birds_train.rec"}
VARIANT = {"VariantName": "AllTraffic", "ModelName": "shapes-model", "InstanceType": "ml.m5.large"}


def _once_failed(jobs: Jobs) -> dict[str, Any]:
    """UpdateEndpoint's request, once the endpoint has failed (an endpoint still Creating refuses it)."""

    def status() -> str:
        answer = httpx.post(
            jobs["url"] + "/",
            content=json.dumps({"EndpointName": "shapes-endpoint"}),
            headers={
                "X-Amz-Target": "SageMaker.DescribeEndpoint",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        return answer.json()["EndpointStatus"]

    wait_until(lambda: status() == "Failed", timeout=120)
    return {"EndpointName": "shapes-endpoint", "EndpointConfigName": "shapes-config"}


# One call per operation, in an order that leaves something to describe: (target, payload for the jobs).
CALLS: list[tuple[str, Callable[[Jobs], dict[str, Any]]]] = [
    ("SageMaker.CreateTrainingJob", lambda jobs: workshop_request("shapes-new", epochs=1)),
    ("SageMaker.DescribeTrainingJob", lambda jobs: {"TrainingJobName": "shapes-done"}),
    ("SageMaker.DescribeTrainingJob", lambda jobs: {"TrainingJobName": "shapes-failed"}),
    ("SageMaker.DescribeTrainingJob", lambda jobs: {"TrainingJobName": "shapes-running"}),
    ("SageMaker.ListTrainingJobs", lambda jobs: {"MaxResults": 2}),
    ("SageMaker.StopTrainingJob", lambda jobs: {"TrainingJobName": "shapes-running"}),
    ("SageMaker.CreateHyperParameterTuningJob", lambda jobs: tuning_request("shapes-tuning", max_jobs=1)),
    (
        "SageMaker.DescribeHyperParameterTuningJob",
        lambda jobs: {"HyperParameterTuningJobName": "shapes-tuned"},
    ),
    (
        "SageMaker.DescribeHyperParameterTuningJob",
        lambda jobs: {"HyperParameterTuningJobName": "shapes-tuning"},
    ),
    ("SageMaker.ListHyperParameterTuningJobs", lambda jobs: {"MaxResults": 1}),
    (
        "SageMaker.ListTrainingJobsForHyperParameterTuningJob",
        lambda jobs: {"HyperParameterTuningJobName": "shapes-tuned"},
    ),
    ("SageMaker.StopHyperParameterTuningJob", lambda jobs: {"HyperParameterTuningJobName": "shapes-tuning"}),
    ("SageMaker.AddTags", lambda jobs: {"ResourceArn": jobs["arn"], "Tags": [{"Key": "lab", "Value": "2"}]}),
    ("SageMaker.ListTags", lambda jobs: {"ResourceArn": jobs["arn"]}),
    ("SageMaker.DeleteTags", lambda jobs: {"ResourceArn": jobs["arn"], "TagKeys": ["lab"]}),
    ("SageMaker.CreateModel", lambda jobs: {"ModelName": "shapes-model", "PrimaryContainer": MODEL}),
    ("SageMaker.DescribeModel", lambda jobs: {"ModelName": "shapes-model"}),
    ("SageMaker.ListModels", lambda jobs: {}),
    (
        "SageMaker.CreateEndpointConfig",
        lambda jobs: {"EndpointConfigName": "shapes-config", "ProductionVariants": [VARIANT]},
    ),
    ("SageMaker.DescribeEndpointConfig", lambda jobs: {"EndpointConfigName": "shapes-config"}),
    ("SageMaker.ListEndpointConfigs", lambda jobs: {}),
    (
        "SageMaker.CreateEndpoint",
        lambda jobs: {"EndpointName": "shapes-endpoint", "EndpointConfigName": "shapes-config"},
    ),
    ("SageMaker.DescribeEndpoint", lambda jobs: {"EndpointName": "shapes-endpoint"}),
    ("SageMaker.ListEndpoints", lambda jobs: {}),
    (
        "SageMaker.CreateTransformJob",
        lambda jobs: {
            "TransformJobName": "shapes-transform",
            "ModelName": "shapes-model",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://birds/train/"}},
                "ContentType": "application/x-image",
            },
            "TransformOutput": {"S3OutputPath": "s3://birds/shapes-transform"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    ),
    ("SageMaker.DescribeTransformJob", lambda jobs: {"TransformJobName": "shapes-transform"}),
    ("SageMaker.ListTransformJobs", lambda jobs: {}),
    ("SageMaker.StopTransformJob", lambda jobs: {"TransformJobName": "shapes-transform"}),
    ("SageMaker.DescribeTransformJob", lambda jobs: {"TransformJobName": "shapes-transform"}),
    ("SageMaker.UpdateEndpoint", _once_failed),
    ("SageMaker.DescribeEndpoint", lambda jobs: {"EndpointName": "shapes-endpoint"}),
    ("SageMaker.DeleteEndpoint", lambda jobs: {"EndpointName": "shapes-endpoint"}),
    ("SageMaker.DeleteEndpointConfig", lambda jobs: {"EndpointConfigName": "shapes-config"}),
    ("SageMaker.DeleteModel", lambda jobs: {"ModelName": "shapes-model"}),
    ("Logs_20140328.DescribeLogGroups", lambda jobs: {}),
    ("Logs_20140328.DescribeLogStreams", lambda jobs: {"logGroupName": GROUP, "limit": 1}),
    ("Logs_20140328.GetLogEvents", lambda jobs: {"logGroupName": GROUP, "logStreamName": jobs["stream"]}),
    ("Logs_20140328.FilterLogEvents", lambda jobs: {"logGroupName": GROUP, "limit": 3}),
    ("GraniteServiceVersion20100801.ListMetrics", lambda jobs: {"Namespace": GROUP}),
    (
        "GraniteServiceVersion20100801.GetMetricStatistics",
        lambda jobs: {
            "Namespace": GROUP,
            "MetricName": "train:accuracy",
            "Dimensions": [{"Name": "TrainingJobName", "Value": "shapes-done"}],
            "StartTime": NOW - 3600,
            "EndTime": NOW + 3600,
            "Period": 60,
            "Statistics": ["Maximum"],
        },
    ),
    (
        "GraniteServiceVersion20100801.GetMetricData",
        lambda jobs: {
            "MetricDataQueries": [
                {
                    "Id": "accuracy",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": GROUP,
                            "MetricName": "validation:accuracy",
                            "Dimensions": [{"Name": "TrainingJobName", "Value": "shapes-done"}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            "StartTime": NOW - 3600,
            "EndTime": NOW + 3600,
        },
    ),
]


@pytest.fixture(scope="module")
def jobs(server: Server) -> Jobs:
    sagemaker = server.client("sagemaker")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("shapes-tuned", max_jobs=1))
    wait_until(
        lambda: (
            sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="shapes-tuned")[
                "HyperParameterTuningJobStatus"
            ]
            == "Completed"
        )
    )
    sagemaker.create_training_job(**workshop_request("shapes-done", epochs=2))
    sagemaker.create_training_job(**workshop_request("shapes-failed", fake_mode="fail"))
    sagemaker.create_training_job(**workshop_request("shapes-running", epochs=500, fake_mode="slow"))
    wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName="shapes-running")["FinalMetricDataList"]
    )
    streams = server.client("logs").describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="shapes-done/"
    )
    arn = sagemaker.describe_training_job(TrainingJobName="shapes-done")["TrainingJobArn"]
    return {"arn": arn, "stream": streams["logStreams"][0]["logStreamName"], "url": server.url}


def test_every_operation_has_a_call_here():
    served = {f"{prefix}.{name}" for prefix, operations in SERVICES.items() for name in operations}
    missing = served - {target for target, _ in CALLS}
    assert not missing, f"add a call for each new operation to CALLS: {sorted(missing)}"


@pytest.mark.parametrize(("target", "payload"), CALLS, ids=[target for target, _ in CALLS])
def test_the_answer_fits_botocores_output_shape(server: Server, jobs: Jobs, target, payload):
    prefix, _, operation = target.partition(".")
    response = httpx.post(
        server.url + "/",
        content=json.dumps(payload(jobs)),
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    output = service(MODELS[prefix]).operation_model(operation).output_shape
    assert shape_errors(output, response.json()) == []
