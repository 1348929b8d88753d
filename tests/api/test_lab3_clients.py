"""Lab 3 as the workshop's clients run it: the AWS CLI's commands, and endpoints across server restarts."""

import json
import os
import signal

import pytest
from hosting import IMAGE, ROLE, deploy, instance_pids, jpeg, put_tiny_model, wait_in_service
from roost_server import fake_server, wait_until
from test_aws_cli import AWS, aws


@pytest.fixture(scope="module")
def model_url(data_root) -> str:
    return put_tiny_model(data_root, "birds/cli/output/model.tar.gz")


@pytest.mark.skipif(not AWS.exists(), reason=f"needs the AWS CLI at {AWS} (pip install awscli)")
def test_the_workshops_cli_commands(server, model_url, tmp_path):
    sm = ("sagemaker",)
    aws(server, *sm, "create-model", "--model-name", "cli-birds", "--execution-role-arn", ROLE,
        "--primary-container", f"Image={IMAGE},ModelDataUrl={model_url}")  # fmt: skip
    aws(server, *sm, "create-endpoint-config", "--endpoint-config-name", "cli-birds-config",
        "--production-variants",
        "VariantName=AllTraffic,ModelName=cli-birds,InitialInstanceCount=1,InstanceType=ml.m5.xlarge,"
        "InitialVariantWeight=1")  # fmt: skip
    aws(
        server,
        *sm,
        "create-endpoint",
        "--endpoint-name",
        "cli-birds",
        "--endpoint-config-name",
        "cli-birds-config",
    )
    # The CLI's waiter polls every 30 s; once the endpoint is up it must answer at its first look.
    wait_until(lambda: _status(server, "cli-birds") == "InService")
    aws(server, *sm, "wait", "endpoint-in-service", "--endpoint-name", "cli-birds")

    photo, answer = tmp_path / "photo.jpg", tmp_path / "answer.json"
    photo.write_bytes(jpeg())
    invoke = ("sagemaker-runtime", "invoke-endpoint", "--body", f"fileb://{photo}", "--endpoint-name")
    printed = aws(server, *invoke, "cli-birds", "--content-type", "application/x-image", str(answer))
    assert json.loads(printed.stdout)["InvokedProductionVariant"] == "AllTraffic"
    assert len(json.loads(answer.read_text())) == 4
    refused = aws(server, *invoke, "cli-nowhere", "--content-type", "image/jpeg", str(answer), check=False)
    assert "(ValidationError)" in refused.stderr and "Endpoint cli-nowhere of account" in refused.stderr

    aws(server, *sm, "delete-endpoint", "--endpoint-name", "cli-birds")
    aws(server, *sm, "wait", "endpoint-deleted", "--endpoint-name", "cli-birds")
    aws(server, *sm, "delete-endpoint-config", "--endpoint-config-name", "cli-birds-config")
    aws(server, *sm, "delete-model", "--model-name", "cli-birds")


def _status(server, name: str) -> str:
    return json.loads(aws(server, "sagemaker", "describe-endpoint", "--endpoint-name", name).stdout)[
        "EndpointStatus"
    ]


def test_endpoints_serve_again_after_the_server_restarts(tmp_path, data_root, model_url):
    state = tmp_path / "state"
    first = fake_server(state, data_root)
    deploy(first.client("sagemaker"), "lasting", model_url)
    wait_in_service(first.client("sagemaker"), "lasting")
    (orphan,) = instance_pids("lasting")
    first.kill()  # SIGKILL: the instance is left behind, and the next server must end it

    second = fake_server(state, data_root)
    try:
        sagemaker = second.client("sagemaker")
        assert sagemaker.describe_endpoint(EndpointName="lasting")["EndpointStatus"] == "InService"
        wait_until(lambda: not os.path.exists(f"/proc/{orphan}") or _zombie(orphan))
        new = wait_until(lambda: instance_pids("lasting"))
        answer = wait_until(lambda: _invoke(second, "lasting"), timeout=120)
        assert answer["InvokedProductionVariant"] == "AllTraffic"
    finally:
        second.kill(signal.SIGTERM)  # a clean stop ends the instances
    assert not [p for p in new if os.path.exists(f"/proc/{p}") and not _zombie(p)]


def _zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def _invoke(server, name: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return server.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=name, ContentType="image/jpeg", Body=jpeg()
        )
    except ClientError:
        return None
