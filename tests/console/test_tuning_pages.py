"""The console's tuning pages over a platform that ran a tuning job with the fake algorithm: the list, the
job's trials best first with the best one named, and the chart's points by trial number."""

from __future__ import annotations

import re
import time

import pytest
from console_servers import FAKE_ALGORITHM
from starlette.testclient import TestClient

from roost.api.app import create_app
from roost.platform.services import Platform
from roost.platform.storage import Storage
from roost.platform.tuning_results import best, objective_value, summaries
from workshop import tuning_request


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, data_root) -> Platform:
    platform = Platform.open(
        tmp_path_factory.mktemp("state"), Storage(data_root, confined=True), command=FAKE_ALGORITHM
    )
    platform.tuning_driver.poll_s = 0.1
    platform.start()
    platform.tuning_jobs.create(
        tuning_request("console-tuning", strategy="Random", max_jobs=3), region="us-east-1"
    )
    deadline = time.time() + 60
    while platform.tuning_jobs.describe("console-tuning").status == "InProgress" and time.time() < deadline:
        time.sleep(0.1)
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def client(tuned):
    return TestClient(create_app(tuned, run_jobs=False), base_url="http://localhost")


def test_the_list_shows_each_tuning_job_with_its_best_objective(client, tuned):
    page = client.get("/hyper-parameter-tuning-jobs")
    assert page.status_code == 200
    assert 'href="/hyper-parameter-tuning-jobs/console-tuning"' in page.text
    record = tuned.tuning_jobs.describe("console-tuning")
    winner = best(summaries(tuned.tuning_jobs, record), maximize=True)
    assert f"{objective_value(winner):.4f}" in page.text
    assert "3 / 3" in page.text


def test_the_job_page_lists_trials_best_first_and_names_the_best(client, tuned):
    page = client.get("/hyper-parameter-tuning-jobs/console-tuning")
    assert page.status_code == 200
    record = tuned.tuning_jobs.describe("console-tuning")
    found = summaries(tuned.tuning_jobs, record)
    table = page.text[page.text.index('id="trials"') :]
    shown = re.findall(r'<a href="/jobs/(console-tuning-\d{3}-[0-9a-f]{8})">', table)
    assert shown == [s["TrainingJobName"] for s in sorted(found, key=objective_value, reverse=True)]
    best_line = page.text[page.text.index('id="best-trial"') :]
    assert best_line.startswith(f'id="best-trial"><a href="/jobs/{shown[0]}">')


def test_the_chart_gets_each_trials_objective_by_number(client, tuned):
    points = client.get("/hyper-parameter-tuning-jobs/console-tuning/objectives").json()
    assert points["trials"] == [1, 2, 3]
    assert points["finished"] is True
    assert all(0 < value < 1 for value in points["values"])


def test_an_unknown_tuning_job_is_a_404_page(client):
    page = client.get("/hyper-parameter-tuning-jobs/nobody")
    assert page.status_code == 404
    assert "No hyperparameter tuning job named nobody" in page.text
    assert client.get("/hyper-parameter-tuning-jobs/nobody/objectives").status_code == 404
