"""Lab 3 through boto3 against a real server: models, endpoint configurations, endpoints, InvokeEndpoint."""

import io
import json
import os
import signal
import tarfile

import pytest
from botocore.exceptions import ClientError, WaiterError
from hosting import (
    IMAGE,
    NUM_CLASSES,
    ROLE,
    create_model,
    deploy,
    instance_pids,
    jpeg,
    put_tiny_model,
    wait_in_service,
)
from roost_server import wait_until


@pytest.fixture(scope="module")
def model_url(data_root) -> str:
    return put_tiny_model(data_root)


def test_the_lab3_notebook_session(server, model_url):
    sagemaker, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    deploy(sagemaker, "birds", model_url)
    assert sagemaker.describe_endpoint(EndpointName="birds")["EndpointStatus"] == "Creating"
    with pytest.raises(ClientError, match="Endpoint birds of account 000000000000 not found"):
        runtime.invoke_endpoint(EndpointName="birds", ContentType="application/x-image", Body=jpeg())
    endpoint = wait_in_service(sagemaker, "birds")
    assert endpoint["EndpointConfigName"] == "birds-config"
    assert endpoint["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    assert endpoint["EndpointArn"] == "arn:aws:sagemaker:us-east-1:000000000000:endpoint/birds"

    answer = runtime.invoke_endpoint(
        EndpointName="birds", ContentType="application/x-image", Body=jpeg(), CustomAttributes="trace=1"
    )
    probabilities = json.loads(answer["Body"].read())
    assert len(probabilities) == NUM_CLASSES and sum(probabilities) == pytest.approx(1, abs=1e-5)
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    lines = runtime.invoke_endpoint(
        EndpointName="birds", ContentType="image/jpeg", Accept="application/jsonlines", Body=jpeg()
    )
    assert json.loads(lines["Body"].read())["prediction"] == pytest.approx(probabilities)

    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint(EndpointName="birds", ContentType="text/csv", Body=b"1,2")
    error = refused.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"].startswith("ClientError: Invalid content type")
    assert "/aws/sagemaker/Endpoints/birds" in error["Error"]["Message"]
    with pytest.raises(ClientError, match="Loading image data failed"):
        runtime.invoke_endpoint(EndpointName="birds", ContentType="image/jpeg", Body=b"not a photo")
    with pytest.raises(ClientError, match="6 MB") as too_large:
        runtime.invoke_endpoint(EndpointName="birds", ContentType="image/jpeg", Body=b"0" * (7 << 20))
    assert too_large.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="Endpoint nowhere of account 000000000000 not found"):
        runtime.invoke_endpoint(EndpointName="nowhere", ContentType="image/jpeg", Body=jpeg())

    logs = server.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/birds")["logStreams"]
    assert stream["logStreamName"].startswith("AllTraffic/i-")
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/Endpoints/birds",
        logStreamName=stream["logStreamName"],
        startFromHead=True,
    )["events"]
    assert any("ResNet-20" in e["message"] for e in events)
    with pytest.raises(ClientError, match="log group does not exist"):
        logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/nowhere")

    assert [m["ModelName"] for m in sagemaker.list_models(NameContains="birds")["Models"]] == [
        "birds-alltraffic"
    ]
    model = sagemaker.describe_model(ModelName="birds-alltraffic")
    assert model["PrimaryContainer"]["ModelDataUrl"] == model_url
    assert model["ModelArn"] == "arn:aws:sagemaker:us-east-1:123456789012:model/birds-alltraffic"
    config = sagemaker.describe_endpoint_config(EndpointConfigName="birds-config")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == ["birds"]
    with pytest.raises(ClientError, match="Cannot create already existing model"):
        sagemaker.create_model(
            ModelName="birds-alltraffic", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_url}
        )
    with pytest.raises(ClientError, match="Cannot create already existing endpoint"):
        sagemaker.create_endpoint(EndpointName="birds", EndpointConfigName="birds-config")

    (pid,) = instance_pids("birds")
    sagemaker.delete_endpoint(EndpointName="birds")
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="birds", WaiterConfig={"Delay": 0.5})
    with pytest.raises(
        ClientError, match='Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/birds"'
    ):
        sagemaker.describe_endpoint(EndpointName="birds")
    with pytest.raises(ClientError, match="Endpoint birds of account 000000000000 not found"):
        runtime.invoke_endpoint(EndpointName="birds", ContentType="image/jpeg", Body=jpeg())
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"))
    sagemaker.delete_endpoint_config(EndpointConfigName="birds-config")
    sagemaker.delete_model(ModelName="birds-alltraffic")
    with pytest.raises(
        ClientError,
        match='Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/birds-alltraffic"',
    ):
        sagemaker.describe_model(ModelName="birds-alltraffic")


def test_variants_share_traffic_by_weight_and_target_variant_picks_one(server, model_url):
    sagemaker, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    deploy(sagemaker, "weighted", model_url, {"Main": 1.0, "Canary": 0.0})
    wait_in_service(sagemaker, "weighted")
    answered = {
        runtime.invoke_endpoint(EndpointName="weighted", ContentType="image/jpeg", Body=jpeg(i))[
            "InvokedProductionVariant"
        ]
        for i in range(5)
    }
    assert answered == {"Main"}
    canary = runtime.invoke_endpoint(
        EndpointName="weighted", ContentType="image/jpeg", Body=jpeg(), TargetVariant="Canary"
    )
    assert canary["InvokedProductionVariant"] == "Canary"
    with pytest.raises(ClientError, match=r"The variant\(s\) \[Nope\] are not valid"):
        runtime.invoke_endpoint(
            EndpointName="weighted", ContentType="image/jpeg", Body=jpeg(), TargetVariant="Nope"
        )

    # UpdateEndpoint: a one-variant configuration replaces both.
    sagemaker.create_endpoint_config(
        EndpointConfigName="weighted-v2",
        ProductionVariants=[
            {"VariantName": "Only", "ModelName": "weighted-main", "InstanceType": "ml.m5.large"}
        ],
    )
    old = set(instance_pids("weighted"))
    sagemaker.update_endpoint(EndpointName="weighted", EndpointConfigName="weighted-v2")
    assert sagemaker.describe_endpoint(EndpointName="weighted")["EndpointStatus"] == "Updating"
    endpoint = wait_in_service(sagemaker, "weighted")
    assert endpoint["EndpointConfigName"] == "weighted-v2"
    assert [v["VariantName"] for v in endpoint["ProductionVariants"]] == ["Only"]
    only = runtime.invoke_endpoint(EndpointName="weighted", ContentType="image/jpeg", Body=jpeg())
    assert only["InvokedProductionVariant"] == "Only"
    wait_until(lambda: not old & set(instance_pids("weighted")))

    # An update that cannot start rolls back: the endpoint goes on serving its configuration, and says why.
    junk = server.data_root / "birds" / "junk.tar.gz"
    junk.write_bytes(b"not a model")
    create_model(sagemaker, "junk", "s3://birds/junk.tar.gz")
    sagemaker.create_endpoint_config(
        EndpointConfigName="weighted-v3",
        ProductionVariants=[{"VariantName": "Junk", "ModelName": "junk", "InstanceType": "ml.m5.large"}],
    )
    sagemaker.update_endpoint(EndpointName="weighted", EndpointConfigName="weighted-v3")
    rolled_back = wait_until(lambda: _failed_update(sagemaker, "weighted"))
    assert rolled_back["EndpointConfigName"] == "weighted-v2"
    assert "production variant Junk did not pass the ping health check" in rolled_back["FailureReason"]
    assert _answers(runtime, "weighted")
    sagemaker.delete_endpoint(EndpointName="weighted")


def _failed_update(sagemaker, name: str) -> dict | None:
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    return endpoint if endpoint["EndpointStatus"] == "InService" and "FailureReason" in endpoint else None


def _evil_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        member = tarfile.TarInfo("../escaped.txt")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("not-a-model", b"not a tar at all", "did not pass the ping health check"),
        ("escaping-tar", _evil_tar(), "did not pass the ping health check"),
        ("gone", None, "Could not find model data at s3://birds/bad/gone.tar.gz"),
    ],
)
def test_a_bad_model_leaves_the_endpoint_failed_with_the_reason(server, name, content, reason):
    sagemaker = server.client("sagemaker")
    model = server.data_root / "birds" / "bad" / f"{name}.tar.gz"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(content or b"soon gone")
    create_model(sagemaker, f"{name}-alltraffic", f"s3://birds/bad/{name}.tar.gz")
    if content is None:
        model.unlink()  # after CreateModel, which checks that it is there
    deploy(sagemaker, name, f"s3://birds/bad/{name}.tar.gz", create_models=False)
    with pytest.raises(WaiterError):
        wait_in_service(sagemaker, name)
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "Failed"
    assert reason in endpoint["FailureReason"]
    if content is not None:
        assert "error:" in endpoint["FailureReason"]  # the container's own words
    assert not (server.data_root / "birds" / "escaped.txt").exists()
    assert not list(server.state_dir.rglob("escaped.txt"))
    sagemaker.delete_endpoint(EndpointName=name)


def test_an_instance_that_dies_is_replaced_then_the_endpoint_fails(server, model_url):
    sagemaker, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    deploy(sagemaker, "fragile", model_url)
    wait_in_service(sagemaker, "fragile")
    (first,) = instance_pids("fragile")
    os.kill(first, signal.SIGKILL)
    replaced = wait_until(lambda: [p for p in instance_pids("fragile") if p != first])
    wait_until(lambda: _answers(runtime, "fragile"), timeout=120)
    assert sagemaker.describe_endpoint(EndpointName="fragile")["EndpointStatus"] == "InService"
    found = server.client("logs").filter_log_events(
        logGroupName="/aws/sagemaker/Endpoints/fragile", filterPattern='"starting a replacement"'
    )["events"]
    assert len(found) == 1 and "killed by SIGKILL" in found[0]["message"]

    os.kill(replaced[0], signal.SIGKILL)  # the server under test replaces an instance once only
    wait_until(lambda: sagemaker.describe_endpoint(EndpointName="fragile")["EndpointStatus"] == "Failed")
    assert "replaced 1 times already" in sagemaker.describe_endpoint(EndpointName="fragile")["FailureReason"]
    sagemaker.delete_endpoint(EndpointName="fragile")


def _answers(runtime, name: str) -> bool:
    try:
        runtime.invoke_endpoint(EndpointName=name, ContentType="image/jpeg", Body=jpeg())
    except ClientError:
        return False
    return True


def test_create_requests_are_checked(server, model_url):
    sagemaker = server.client("sagemaker")
    arn = sagemaker.create_model(
        ModelName="tagged",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_url},
        Tags=[{"Key": "lab", "Value": "3"}],
    )["ModelArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "3"}]
    with pytest.raises(ClientError, match="reserved for AWS use"):
        sagemaker.create_model(
            ModelName="badly-tagged",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_url},
            Tags=[{"Key": "aws:x", "Value": "1"}],
        )
    with pytest.raises(ClientError, match="Could not find model"):
        sagemaker.describe_model(ModelName="badly-tagged")  # a refused tag stores nothing
    with pytest.raises(ClientError, match="is not the image-classification algorithm"):
        sagemaker.create_model(
            ModelName="xgb", PrimaryContainer={"Image": "xgboost:1", "ModelDataUrl": model_url}
        )
    with pytest.raises(ClientError, match=r"Could not find model data at s3://birds/none\.tar\.gz"):
        sagemaker.create_model(
            ModelName="none",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://birds/none.tar.gz"},
            ExecutionRoleArn=ROLE,
        )
    with pytest.raises(
        ClientError, match='Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/absent"'
    ):
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[{"VariantName": "v", "ModelName": "absent", "InstanceType": "ml.m5.large"}],
        )
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="absent")
