"""`roost jobs` and `roost logs` talk to the server over the same API."""

import pytest
from roost_server import wait_until

from roost.cli import main
from workshop import workshop_request


@pytest.fixture(scope="module")
def job(server):
    sagemaker = server.client("sagemaker")
    sagemaker.create_training_job(**workshop_request("cli-tools", epochs=2))
    wait_until(
        lambda: (
            sagemaker.describe_training_job(TrainingJobName="cli-tools")["TrainingJobStatus"] == "Completed"
        )
    )
    return "cli-tools"


def test_jobs_lists_and_describes(server, job, capsys):
    assert main(["jobs", "--endpoint-url", server.url]) == 0
    listing = capsys.readouterr().out
    assert "cli-tools" in listing and "Completed" in listing and "0.4100" in listing
    assert main(["jobs", "describe", job, "--endpoint-url", server.url]) == 0
    described = capsys.readouterr().out
    assert "s3://birds/cli-tools/output/model.tar.gz" in described
    assert "validation:accuracy" in described


def test_logs_prints_the_stream_and_follow_ends_with_the_job(server, job, capsys):
    assert main(["logs", job, "--follow", "--endpoint-url", server.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum("Validation-accuracy" in line for line in out) == 2
    assert "Epoch[0] Batch [20]\tSpeed" in out[1]


def test_stop_and_errors_read_as_aws_errors(server, job, capsys):
    assert main(["jobs", "stop", job, "--endpoint-url", server.url]) == 2
    assert (
        "ValidationException: The request was rejected because the training job is in status Completed."
        in (capsys.readouterr().err.replace("\n", " "))
    )
    assert main(["jobs", "describe", "nope", "--endpoint-url", server.url]) == 2
    assert "ValidationException: Requested resource not found." in capsys.readouterr().err
    assert main(["jobs", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "cannot reach a roost server" in capsys.readouterr().err
