"""Issue 9 #1: the server answers only its own Host names, so DNS rebinding from a browser cannot reach it."""

import pytest
from starlette.testclient import TestClient

from roost.api.app import create_app
from roost.api.host_guard import machine_names
from roost.platform.services import Platform
from roost.platform.storage import Storage


@pytest.fixture
def client(tmp_path):
    platform = Platform.open(tmp_path / "state", Storage(tmp_path, confined=True))
    app = create_app(platform, run_jobs=False, host_names=machine_names("0.0.0.0", ["birds.lab.internal"]))
    return TestClient(app, base_url="http://127.0.0.1")


def list_jobs(client, host: str):
    return client.post(
        "/",
        content=b"{}",
        headers={"Host": host, "X-Amz-Target": "SageMaker.ListTrainingJobs"},
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8765",
        "localhost:8765",
        "LOCALHOST",
        "[::1]:8765",
        "::1",
        "192.168.1.20:8765",
        "birds.lab.internal:8765",
        "studio.localhost",
    ],
)
def test_own_names_and_addresses_are_answered(client, host):
    assert list_jobs(client, host).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", ""])
def test_other_names_are_refused_with_an_aws_error(client, host):
    response = list_jobs(client, host)
    assert response.status_code == 403
    assert response.json()["__type"] == "AccessDeniedException"
    assert "--allow-host" in response.json()["message"]
    assert client.get("/", headers={"Host": host}).status_code == 403  # the console too
