"""Issue 9 #11 and issue 12: malformed input gets a 400 with an AWS error body, never a 500, and a member
of the wrong type is refused before it is stored (where it would break DescribeTrainingJob later)."""

import base64
import json

import pytest
from hostile_api import api

from workshop import workshop_request

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with api(tmp_path_factory.mktemp("malformed")) as running:
        running.call("sagemaker", "CreateTrainingJob", workshop_request("done", epochs=1))
        running.wait_until_finished("done")
        streams = running.call("logs", "DescribeLogStreams", {"logGroupName": LOG_GROUP}).json()["logStreams"]
        running.stream = streams[0]["logStreamName"]
        yield running


def token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


RAW_BODIES = [
    ("SageMaker.ListTrainingJobs", b"[" * 100_000 + b"]" * 100_000, "SerializationException"),
    ("SageMaker.ListTrainingJobs", b'{"MaxResults": ' + b"9" * 5000 + b"}", "SerializationException"),
    ("SageMaker.ListTrainingJobs", b'{"MaxResults": NaN}', "SerializationException"),
    ("SageMaker.ListTrainingJobs", b'{"CreationTimeAfter": Infinity}', "SerializationException"),
]


@pytest.mark.parametrize(("target", "body", "code"), RAW_BODIES)
def test_bodies_json_cannot_hold_get_400(server, target, body, code):
    response = server.post(target, body)
    assert response.status_code == 400
    assert response.json()["__type"] == code


def nul_channel() -> dict:
    request = workshop_request("nul")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://birds/tr\0ain/"
    return request


CALLS = [
    ("sagemaker", "CreateTrainingJob", nul_channel(), "ValidationException", "NUL character"),
    (
        "sagemaker",
        "ListTrainingJobs",
        {"NextToken": token([{"a": 1}, "x"])},
        "ValidationException",
        "NextToken",
    ),
    (
        "sagemaker",
        "ListTrainingJobs",
        {"NextToken": token([10**30, "x"])},
        "ValidationException",
        "NextToken",
    ),
    ("sagemaker", "ListTrainingJobs", {"NextToken": "bm90IGpzb24="}, "ValidationException", "NextToken"),
    ("sagemaker", "ListTrainingJobs", {"CreationTimeAfter": 1e300}, "ValidationException", "timestamp"),
    (
        "logs",
        "GetLogEvents",
        {"logGroupName": LOG_GROUP, "logStreamName": "<stream>", "nextToken": "f/" + "9" * 56 + "/s"},
        "InvalidParameterException",
        "nextToken",
    ),
    (
        "logs",
        "FilterLogEvents",
        {"logGroupName": LOG_GROUP, "nextToken": base64.urlsafe_b64encode(b"9" * 40).decode()},
        "InvalidParameterException",
        "nextToken",
    ),
    (
        "logs",
        "DescribeLogStreams",
        {"logGroupName": LOG_GROUP, "nextToken": base64.urlsafe_b64encode(b"-5").decode()},
        "InvalidParameterException",
        "nextToken",
    ),
    (
        "logs",
        "FilterLogEvents",
        {"logGroupName": LOG_GROUP, "startTime": 1e26},
        "InvalidParameterException",
        "1 validation error detected: Value '1e+26' at 'startTime' failed to satisfy constraint: Member "
        "must be an integer",
    ),
]


@pytest.mark.parametrize(("service", "operation", "payload", "code", "words"), CALLS)
def test_forged_and_impossible_values_get_400(server, service, operation, payload, code, words):
    if payload.get("logStreamName") == "<stream>":
        payload = {**payload, "logStreamName": server.stream}
    response = server.call(service, operation, payload)
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == code
    assert words in response.json()["message"]


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("VpcConfig", 7, "Value '7' at 'vpcConfig' failed to satisfy constraint: Member must be a structure"),
        (
            "EnableNetworkIsolation",
            "yes",
            "at 'enableNetworkIsolation' failed to satisfy constraint: Member must be a boolean",
        ),
        ("Tags", {"a": "b"}, "at 'tags' failed to satisfy constraint: Member must be a list"),
        ("RetryStrategy", {"MaximumRetryAttempts": 0}, "at 'retryStrategy.maximumRetryAttempts' failed"),
        ("NoSuchMember", 1, "Member must be one of the members of CreateTrainingJobRequest"),
    ],
)
def test_members_roost_only_stores_are_checked_too(server, member, value, words):
    request = workshop_request(f"typed-{member.lower()}", **{member: value})
    response = server.call("sagemaker", "CreateTrainingJob", request)
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
    assert words in response.json()["message"]
    described = server.call(
        "sagemaker", "DescribeTrainingJob", {"TrainingJobName": request["TrainingJobName"]}
    )
    assert described.json()["message"] == "Requested resource not found."  # nothing was stored


def test_several_violations_are_listed_as_aws_lists_them(server):
    response = server.call("sagemaker", "ListTrainingJobs", {"MaxResults": 1000, "SortOrder": "Up"})
    assert response.json()["message"] == (
        "2 validation errors detected: Value '1000' at 'maxResults' failed to satisfy constraint: Member "
        "must have value less than or equal to 100; Value 'Up' at 'sortOrder' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Ascending, Descending]"
    )


def test_logs_validation_uses_aws_wording(server):
    response = server.call("logs", "FilterLogEvents", {"logGroupName": LOG_GROUP, "limit": 10001})
    assert response.json() == {
        "__type": "InvalidParameterException",
        "message": "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 10000",
    }


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        (
            [{"Key": "lab", "Value": "#2"}],
            "Value '#2' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern",
        ),
        (
            [{"Key": "aws:lab", "Value": "2"}],
            "Tag keys beginning with 'aws:' are reserved for AWS use: aws:lab",
        ),
        ([{"Key": "lab"}], "Value null at 'tags.1.member.value' failed to satisfy constraint"),
    ],
)
def test_bad_tags_on_create_store_nothing(server, tags, words):
    response = server.call("sagemaker", "CreateTrainingJob", workshop_request("tagged", Tags=tags))
    assert response.status_code == 400
    assert words in response.json()["message"]
    described = server.call("sagemaker", "DescribeTrainingJob", {"TrainingJobName": "tagged"})
    assert described.status_code == 400
