"""The botocore-shape validator: AWS's paths, values and constraint words."""

import pytest

from roost.platform.api_shapes import parse_input
from roost.platform.errors import InvalidLogParameter, InvalidRequest
from workshop import workshop_request


def refusal(operation: str, payload, service_name: str = "sagemaker") -> str:
    with pytest.raises((InvalidRequest, InvalidLogParameter)) as caught:
        parse_input(operation, payload, service_name=service_name)
    return str(caught.value)


def test_a_valid_request_comes_back_without_its_null_members():
    request = workshop_request(Tags=[{"Key": "lab", "Value": "Lab 2: birds"}])
    assert parse_input("CreateTrainingJob", request) == request
    request["StoppingCondition"] = None
    request["ResourceConfig"]["VolumeSizeInGB"] = None
    parsed = parse_input("CreateTrainingJob", request)
    assert "StoppingCondition" not in parsed and "VolumeSizeInGB" not in parsed["ResourceConfig"]


def test_list_positions_are_one_based_members():
    request = workshop_request()
    request["InputDataConfig"][1]["ChannelName"] = "bad/name"
    assert refusal("CreateTrainingJob", request) == (
        "1 validation error detected: Value 'bad/name' at 'inputDataConfig.2.member.channelName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\.\\-_]+"
    )


def test_javas_unicode_classes_are_read():
    # TagValue's pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters of any script pass, '#' does not.
    assert parse_input(
        "AddTags",
        {
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
            "Tags": [{"Key": "vogel", "Value": "Rotkehlchen ü 2"}],
        },
    )
    message = refusal(
        "AddTags",
        {
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
            "Tags": [{"Key": "a", "Value": "#1"}],
        },
    )
    assert (
        "at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression"
        in message
    )


def test_nulls_in_lists_and_missing_required_members():
    message = refusal("FilterLogEvents", {"logStreamNames": [None]}, service_name="logs")
    assert message == (
        "1 validation error detected: Value null at 'logStreamNames.1.member' failed to satisfy constraint: "
        "Member must not be null"
    )
    assert "Value null at 'trainingJobName'" in refusal("DescribeTrainingJob", {})


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (
            {"MaxResults": True},
            "Value 'true' at 'maxResults' failed to satisfy constraint: Member must be an integer",
        ),
        ({"MaxResults": 2.0}, "Member must be an integer"),
        (
            {"CreationTimeAfter": "2026-01-01"},
            "at 'creationTimeAfter' failed to satisfy constraint: Member must be a timestamp",
        ),
        (
            {"NameContains": ["x"]},
            "Value '[x]' at 'nameContains' failed to satisfy constraint: Member must be a string",
        ),
    ],
)
def test_wrong_types_are_named(payload, words):
    assert words in refusal("ListTrainingJobs", payload)


def test_long_values_are_cut_short_in_the_message():
    message = refusal("DescribeTrainingJob", {"TrainingJobName": "x" * 5000})
    assert message.startswith(f"2 validation errors detected: Value '{'x' * 256}...' at 'trainingJobName'")
    assert "Member must have length less than or equal to 63" in message


def test_a_body_full_of_errors_gets_a_short_answer():
    request = workshop_request(Tags=[{"Key": "#", "Value": "#"}] * 2000)
    message = refusal("CreateTrainingJob", request)
    assert message.startswith("4001 validation errors detected: Value '[{Key=#, Value=#}, ")
    assert message.endswith("; and 3991 more") and len(message) < 10_000
