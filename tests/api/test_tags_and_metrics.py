"""SageMaker tags and CloudWatch metrics through boto3, bad input included, as AWS words it."""

import json
import time

import boto3
import botocore.session
import httpx
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.loaders import Loader
from roost_server import wait_until

from workshop import workshop_request

NAMESPACE = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def job(server) -> dict:
    sagemaker = server.client("sagemaker")
    request = workshop_request("tagged", epochs=3, Tags=[{"Key": "lab", "Value": "2"}])
    request["HyperParameters"]["_fake_epoch_seconds"] = "1.1"  # epochs apart in time, for period=1
    sagemaker.create_training_job(**request)
    wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName="tagged")["TrainingJobStatus"] == "Completed"
    )
    return sagemaker.describe_training_job(TrainingJobName="tagged")


def test_tags_on_create_add_overwrite_and_delete(server, job):
    sagemaker, arn = server.client("sagemaker"), job["TrainingJobArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "2"}]
    added = sagemaker.add_tags(
        ResourceArn=arn, Tags=[{"Key": "lab", "Value": "3"}, {"Key": "owner", "Value": ""}]
    )
    assert added["Tags"] == [{"Key": "lab", "Value": "3"}, {"Key": "owner", "Value": ""}]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["owner", "never-set"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "3"}]


def test_bad_tags_are_refused_in_sagemakers_words(server, job):
    sagemaker, arn = server.client("sagemaker"), job["TrainingJobArn"]
    with pytest.raises(ClientError) as pattern:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "a*b", "Value": "x"}])
    assert pattern.value.response["Error"]["Code"] == "ValidationException"
    assert "Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint" in str(pattern.value)
    with pytest.raises(ClientError) as too_many:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert "at most 50 tags" in str(too_many.value)
    assert len(sagemaker.list_tags(ResourceArn=arn)["Tags"]) == 1  # nothing of the refused call was kept
    with pytest.raises(ClientError) as unknown:
        sagemaker.list_tags(ResourceArn=arn.replace("tagged", "never-created"))
    assert "Requested resource not found" in str(unknown.value)
    with pytest.raises(ClientError) as reserved:
        sagemaker.create_training_job(**workshop_request("bad-tags", Tags=[{"Key": "aws:x", "Value": "y"}]))
    assert "reserved for AWS use" in str(reserved.value)
    with pytest.raises(ClientError):
        sagemaker.describe_training_job(TrainingJobName="bad-tags")  # a refused create stores no job


def test_one_data_point_per_epoch(server, job):
    cloudwatch = server.client("cloudwatch")
    metric = {"Namespace": NAMESPACE, "Dimensions": [{"Name": "TrainingJobName", "Value": "tagged"}]}
    window = {"StartTime": job["TrainingStartTime"], "EndTime": job["TrainingEndTime"]}
    points = cloudwatch.get_metric_statistics(
        MetricName="validation:accuracy:epoch", Period=1, Statistics=["Maximum"], **metric, **window
    )["Datapoints"]
    assert sorted(p["Maximum"] for p in points) == [0.0, 1.0, 2.0]
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "train",
                "MetricStat": {
                    "Metric": {"MetricName": "train:accuracy", **metric},
                    "Period": 1,
                    "Stat": "Average",
                },
            },
            {
                "Id": "p50",
                "MetricStat": {
                    "Metric": {"MetricName": "train:accuracy", **metric},
                    "Period": 60,
                    "Stat": "p50",
                },
            },
        ],
        ScanBy="TimestampAscending",
        **window,
    )["MetricDataResults"]
    assert data[0]["Values"] == [0.5, 0.51, 0.52]
    assert data[0]["Timestamps"] == sorted(data[0]["Timestamps"])
    assert all(v in (0.5, 0.51, 0.52) for v in data[1]["Values"])
    percent = cloudwatch.get_metric_statistics(
        MetricName="train:accuracy", Period=60, Statistics=["Average"], Unit="Percent", **metric, **window
    )
    assert percent["Datapoints"] == []  # CloudWatch matches units exactly; roost's points have none
    assert cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName="nothing-like-it")["Metrics"] == []


def test_bad_metric_requests_get_cloudwatchs_errors(server, job):
    cloudwatch = server.client("cloudwatch")
    asked = {"Namespace": NAMESPACE, "MetricName": "train:accuracy", "Statistics": ["Average"]}
    now = time.time()
    for extra, error in (
        ({"Period": 7, "StartTime": now - 60, "EndTime": now}, "InvalidParameterValue"),
        ({"Period": 1, "StartTime": now - 7200, "EndTime": now}, "InvalidParameterCombination"),
        ({"Period": 60, "StartTime": now, "EndTime": now - 60}, "InvalidParameterValue"),
    ):
        with pytest.raises(ClientError) as refused:
            cloudwatch.get_metric_statistics(**asked, **extra)
        assert refused.value.response["Error"]["Code"] == error
    with pytest.raises(ParamValidationError):
        cloudwatch.get_metric_statistics(Namespace=NAMESPACE)  # botocore checks required members itself
    missing = httpx.post(
        server.url + "/",
        content=json.dumps({"Namespace": NAMESPACE}),
        headers={
            "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricStatistics",
            "Content-Type": "application/x-amz-json-1.0",
        },
        timeout=30,
    )
    assert missing.status_code == 400 and missing.json()["__type"] == "MissingParameter"
    with pytest.raises(ClientError) as math:
        cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "e", "Expression": "m1 * 2"}], StartTime=now - 60, EndTime=now
        )
    assert "not metric math" in str(math.value)


def test_the_query_protocol_of_older_clients(server, job, tmp_path):
    # botocore's own CloudWatch model, but with the query protocol that clients used before JSON.
    model = Loader().load_service_model("cloudwatch", "service-2")
    model["metadata"] = {**model["metadata"], "protocol": "query", "protocols": ["query"]}
    folder = tmp_path / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    query = boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert query.meta.service_model.protocol == "query"
    listed = query.list_metrics(
        Namespace=NAMESPACE, Dimensions=[{"Name": "TrainingJobName", "Value": "tagged"}]
    )
    assert "validation:accuracy" in {m["MetricName"] for m in listed["Metrics"]}
    points = query.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="validation:accuracy",
        Dimensions=[{"Name": "TrainingJobName", "Value": "tagged"}],
        StartTime=job["TrainingStartTime"],
        EndTime=job["TrainingEndTime"],
        Period=1,
        Statistics=["Average"],
    )["Datapoints"]
    assert sorted(p["Average"] for p in points) == [0.4, 0.41, 0.42]
    with pytest.raises(ClientError) as refused:
        query.get_metric_statistics(
            Namespace=NAMESPACE, MetricName="x", StartTime=2, EndTime=1, Period=60, Statistics=["Average"]
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/tagged"
WINDOW = {"Namespace": NAMESPACE, "MetricName": "m", "Period": 60, "Statistics": ["Average"]}


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        (
            "GraniteServiceVersion20100801.GetMetricStatistics",
            {**WINDOW, "StartTime": "x", "EndTime": 2},
            "InvalidParameterValue",
        ),
        (
            "GraniteServiceVersion20100801.GetMetricStatistics",
            {**WINDOW, "StartTime": -5, "EndTime": 2},
            "InvalidParameterValue",
        ),
        (
            "GraniteServiceVersion20100801.GetMetricStatistics",
            {**WINDOW, "StartTime": 1, "EndTime": 2, "Dimensions": "x"},
            "InvalidParameterValue",
        ),
        (
            "GraniteServiceVersion20100801.GetMetricData",
            {"MetricDataQueries": [{"Id": 5}], "StartTime": 1, "EndTime": 2},
            "InvalidParameterValue",
        ),
        ("GraniteServiceVersion20100801.ListMetrics", {"Dimensions": [{"Value": "x"}]}, "MissingParameter"),
        ("GraniteServiceVersion20100801.ListMetrics", {"NextToken": "zzz"}, "InvalidParameterValue"),
        # a member roost does not act on, of the wrong type: botocore's shape refuses it all the same
        ("GraniteServiceVersion20100801.ListMetrics", {"OwningAccount": 5}, "InvalidParameterValue"),
        ("SageMaker.AddTags", {"ResourceArn": ARN, "Tags": "x"}, "ValidationException"),
        ("SageMaker.AddTags", {"ResourceArn": ARN, "Tags": [{"Key": 1}]}, "ValidationException"),
        ("SageMaker.DeleteTags", {"ResourceArn": ARN, "TagKeys": []}, "ValidationException"),
        ("SageMaker.ListTags", {"ResourceArn": 5}, "ValidationException"),
        ("Logs_20140328.DescribeLogGroups", {"limit": "x"}, "InvalidParameterException"),
    ],
)
def test_malformed_requests_get_4xx_and_aws_codes(server, job, target, body, code):
    answer = httpx.post(
        server.url + "/",
        content=json.dumps(body),
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        timeout=30,
    )
    assert (answer.status_code, answer.json()["__type"]) == (400, code)
