"""Malformed requests over raw HTTP: each gets an AWS error body and a 4xx, never a 500."""

import json

import httpx
import pytest

HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


def post(server, target: str | None, body: bytes) -> httpx.Response:
    headers = HEADERS | ({"X-Amz-Target": target} if target else {})
    return httpx.post(server.url + "/", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("target", "body", "status", "code"),
    [
        ("SageMaker.CreateTrainingJob", b"{not json", 400, "SerializationException"),
        ("SageMaker.CreateTrainingJob", b"[1, 2]", 400, "SerializationException"),
        ("SageMaker.DeleteEverything", b"{}", 400, "UnknownOperationException"),
        (None, b"{}", 400, "UnknownOperationException"),
        ("SageMaker.DescribeTrainingJob", b"{}", 400, "ValidationException"),
        (
            "SageMaker.CreateTrainingJob",
            json.dumps({"TrainingJobName": "x"}).encode(),
            400,
            "ValidationException",
        ),
        ("SageMaker.ListTrainingJobs", json.dumps({"MaxResults": 1000}).encode(), 400, "ValidationException"),
        (
            "SageMaker.ListTrainingJobs",
            json.dumps({"NextToken": "garbage"}).encode(),
            400,
            "ValidationException",
        ),
        (
            "Logs_20140328.GetLogEvents",
            json.dumps({"logGroupName": "/aws/sagemaker/TrainingJobs"}).encode(),
            400,
            "InvalidParameterException",
        ),
        (
            "SageMaker.CreateTrainingJob",
            b"{" + b" " * 2_000_000 + b"}",
            413,
            "RequestEntityTooLargeException",
        ),
    ],
)
def test_bad_requests_get_aws_error_bodies(server, target, body, status, code):
    response = post(server, target, body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.json()["__type"] == code
    assert response.json()["message"]


def test_a_missing_field_is_named_as_sagemaker_names_it(server):
    response = post(server, "SageMaker.DescribeTrainingJob", b"{}")
    assert response.json()["message"] == (
        "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_the_console_lists_jobs(server):
    page = httpx.get(server.url + "/", timeout=30)
    assert page.status_code == 200
    assert "<h1>Training jobs</h1>" in page.text
    assert httpx.get(server.url + "/jobs/no-such-job", timeout=30).status_code == 404
