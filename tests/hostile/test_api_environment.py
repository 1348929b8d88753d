"""Issue 9 #1: a request's Environment must not reach the algorithm's interpreter or loader."""

import pytest
from hostile_api import api

from roost.platform.errors import InvalidRequest
from roost.platform.job_environment import passed_environment
from roost.platform.request import parse_request
from workshop import workshop_request


def test_pythonwarnings_and_browser_run_no_command(tmp_path):
    marker = tmp_path / "owned"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\ntouch {marker}\n")
    browser.chmod(0o755)
    # On the old code the algorithm's interpreter imports antigravity for the warning filter, which
    # opens a "browser": the command in BROWSER.
    environment = {"PYTHONWARNINGS": "ignore::antigravity.x", "BROWSER": str(browser)}
    with api(tmp_path) as server:
        request = workshop_request("env-browser", epochs=1, Environment=environment)
        assert server.call("sagemaker", "CreateTrainingJob", request).status_code == 200
        job = server.wait_until_finished("env-browser")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert not marker.exists()
    assert job["Environment"] == environment  # recorded as sent, as SageMaker shows it


def test_pythonpath_cannot_plant_a_sitecustomize(tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "owned"
    (planted / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    with api(tmp_path) as server:
        request = workshop_request("env-path", epochs=1, Environment={"PYTHONPATH": str(planted)})
        server.call("sagemaker", "CreateTrainingJob", request)
        job = server.wait_until_finished("env-path")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert not marker.exists()


def test_only_the_documented_variables_pass():
    requested = {"LD_PRELOAD": "/tmp/x.so", "PYTHONPATH": "/tmp", "RANK": "3", "ROOST_SEED": "7"}
    assert passed_environment(requested) == {"ROOST_SEED": "7"}


@pytest.mark.parametrize(
    ("environment", "words"),
    [
        (
            {"1ABC": "x"},
            "at 'environment' failed to satisfy constraint: Map keys must satisfy constraint: "
            "[Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]",
        ),
        (
            {"A": "x" * 513},
            "Map value must satisfy constraint: [Member must have length less than or equal to 512]",
        ),
        (
            {f"K{i}": "v" for i in range(101)},
            "at 'environment' failed to satisfy constraint: Member must have length less than or equal to "
            "100",
        ),
        ({"A": 1}, "Map value must satisfy constraint: [Member must be a string]"),
    ],
)
def test_sagemakers_limits_on_environment(environment, words):
    with pytest.raises(InvalidRequest) as caught:
        parse_request(workshop_request(Environment=environment))
    assert words in str(caught.value)
