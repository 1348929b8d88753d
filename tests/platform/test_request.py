import pytest

from roost.platform.errors import InvalidRequest
from roost.platform.request import parse_request


def test_the_workshop_request_is_accepted_and_keeps_what_roost_does_not_act_on(make_request):
    raw = make_request(Tags=[{"Key": "lab", "Value": "2"}], EnableNetworkIsolation=False)
    request = parse_request(raw)
    dumped = request.model_dump(mode="json", exclude_none=True)
    assert dumped["Tags"] == [{"Key": "lab", "Value": "2"}]
    assert dumped["EnableNetworkIsolation"] is False
    assert dumped["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://birds/train/"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"TrainingJobName": "birds_13"},
            "Value 'birds_13' at 'trainingJobName' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        ({"RoleArn": None}, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"),
        (
            {"ResourceConfig": {"InstanceType": "ml.p9.huge", "InstanceCount": 1}},
            "Value 'ml.p9.huge' at 'resourceConfig.instanceType' failed to satisfy constraint",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": "xgboost:1", "TrainingInputMode": "File"}},
            "is not the image-classification algorithm",
        ),
        (
            {
                "AlgorithmSpecification": {
                    "TrainingImage": "image-classification",
                    "TrainingInputMode": "Pipe",
                }
            },
            "TrainingInputMode 'Pipe' is not supported",
        ),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": 0}}, "'stoppingCondition.maxRuntimeInSeconds'"),
    ],
)
def test_bad_requests_are_refused_in_sagemakers_words(make_request, change, message):
    raw = make_request()
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(InvalidRequest) as caught:
        parse_request(raw)
    assert message in str(caught.value)


def test_a_missing_channel_source_is_reported_with_its_position(make_request):
    raw = make_request()
    del raw["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"]
    with pytest.raises(InvalidRequest) as caught:
        parse_request(raw)
    assert str(caught.value) == (
        "1 validation error detected: Value null at 'inputDataConfig.2.member.dataSource.s3DataSource.s3Uri' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_hyperparameters_are_checked_with_the_algorithms_schema(make_request):
    raw = make_request()
    raw["HyperParameters"]["augmentation_type"] = "crop_color_transformation"
    with pytest.raises(InvalidRequest) as caught:
        parse_request(raw)
    assert str(caught.value).startswith(
        "Customer Error: The value 'crop_color_transformation' is not valid for the 'augmentation_type' "
        "hyperparameter"
    )


@pytest.mark.parametrize(
    "image",
    [
        "image-classification",
        "image-classification:latest",
        "433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification:1",
    ],
)
def test_the_algorithm_is_named_by_registry_uri_or_plain_name(make_request, image):
    raw = make_request(AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"})
    assert parse_request(raw).AlgorithmSpecification.TrainingImage == image


def test_numbers_as_strings_are_a_type_error_as_in_the_json_protocol(make_request):
    raw = make_request(ResourceConfig={"InstanceType": "ml.p2.xlarge", "InstanceCount": "1"})
    with pytest.raises(InvalidRequest, match=r"resourceConfig\.instanceCount"):
        parse_request(raw)
