"""Tuning jobs on the platform, with the fake algorithm: trials are training jobs; stop, early stopping, warm
start and a restart each end the way SageMaker's do."""

import re
import time
from pathlib import Path

import pytest

from roost.platform.errors import InvalidRequest, JobExists, ResourceNotFound
from roost.platform.services import Platform
from roost.platform.storage import Storage
from roost.platform.tuning_jobs import TuningJobRecord
from roost.platform.tuning_results import best, not_improving, status_counters, summaries
from workshop import tuning_request

# Learning rates far from the fake algorithm's best (0.05): validation accuracy ~0.4 at the end, less before.
POOR_RATES = {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.0002"}


@pytest.fixture
def open_platform(tmp_path: Path, data_root: Path, fake_algorithm):
    opened = []

    def open_one() -> Platform:
        platform = Platform.open(
            tmp_path / "state", Storage(data_root, confined=True), command=fake_algorithm, stop_grace_s=1.0
        )
        platform.tuning_driver.poll_s = 0.1
        platform.start()
        opened.append(platform)
        return platform

    yield open_one
    for platform in opened:
        platform.close()


def wait_for(platform: Platform, name: str, until=lambda r: r.status not in ("InProgress", "Stopping")):
    deadline = time.time() + 60
    while time.time() < deadline:
        record = platform.tuning_jobs.describe(name)
        if until(record):
            return record
        time.sleep(0.1)
    raise AssertionError(f"tuning job {name} is still {platform.tuning_jobs.describe(name).status}")


def _summaries(platform: Platform, record: TuningJobRecord) -> list[dict]:
    return summaries(platform.tuning_jobs, record)


def test_trials_are_training_jobs_named_as_sagemaker_names_them(open_platform):
    platform = open_platform()
    created = platform.tuning_jobs.create(tuning_request(max_jobs=3, max_parallel=2), region="eu-west-1")
    assert created.arn == "arn:aws:sagemaker:eu-west-1:123456789012:hyper-parameter-tuning-job/birds-tuning"
    record = wait_for(platform, "birds-tuning")
    assert record.status == "Completed", record.failure_reason
    found = _summaries(platform, record)
    assert [s["TrainingJobName"][: len("birds-tuning-001")] for s in found] == [
        "birds-tuning-001",
        "birds-tuning-002",
        "birds-tuning-003",
    ]
    assert all(re.fullmatch(r"birds-tuning-\d{3}-[0-9a-f]{8}", s["TrainingJobName"]) for s in found)
    for summary in found:
        job = platform.training_jobs.describe(summary["TrainingJobName"])
        assert job.status == "Completed"
        assert job.arn.startswith("arn:aws:sagemaker:eu-west-1:123456789012:training-job/birds-tuning-")
        hyperparameters = job.request["HyperParameters"]
        assert hyperparameters["_tuning_objective_metric"] == "validation:accuracy"
        assert 0.001 <= float(hyperparameters["learning_rate"]) <= 0.5
        assert hyperparameters["learning_rate"] == summary["TunedHyperParameters"]["learning_rate"]
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == next(
            m["Value"] for m in job.final_metrics if m["MetricName"] == "validation:accuracy"
        )
    assert status_counters(found) == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    winner = best(found, maximize=True)
    assert winner is not None
    value = winner["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert value == max(s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in found)


def test_stopping_a_tuning_job_stops_its_trials(open_platform):
    platform = open_platform()
    request = tuning_request(max_jobs=3, epochs=500, fake_mode="slow")
    platform.tuning_jobs.create(request, region="us-east-1")
    wait_for(platform, "birds-tuning", until=lambda r: _summaries(platform, r))
    assert platform.tuning_jobs.stop("birds-tuning").status == "Stopping"
    record = wait_for(platform, "birds-tuning")
    assert record.status == "Stopped"
    assert [s["TrainingJobStatus"] for s in _summaries(platform, record)] == ["Stopped"]
    with pytest.raises(InvalidRequest, match="the tuning job is in status Stopped"):
        platform.tuning_jobs.stop("birds-tuning")


def test_early_stopping_stops_trials_behind_a_warm_start_parents(open_platform):
    platform = open_platform()
    # A parent of three good trials: learning rates around the fake algorithm's best.
    good = {"CategoricalParameterRanges": [{"Name": "learning_rate", "Values": ["0.04", "0.05", "0.06"]}]}
    platform.tuning_jobs.create(
        tuning_request("parent", strategy="Grid", max_jobs=None, ranges=good), region="us-east-1"
    )
    assert wait_for(platform, "parent").status == "Completed"
    child = tuning_request(
        "child",
        strategy="Random",
        max_jobs=2,
        ranges={"ContinuousParameterRanges": [POOR_RATES]},
        epochs=200,
        fake_mode="slow",
        TrainingJobEarlyStoppingType="Auto",
    )
    child["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    platform.tuning_jobs.create(child, region="us-east-1")
    record = wait_for(platform, "child")
    assert record.status == "Completed", record.failure_reason
    found = _summaries(platform, record)
    assert [s["TrainingJobStatus"] for s in found] == ["Stopped", "Stopped"]
    assert [s["ObjectiveStatus"] for s in found] == ["Succeeded", "Succeeded"]
    for summary in found:
        job = platform.training_jobs.describe(summary["TrainingJobName"])
        epoch = next(m["Value"] for m in job.final_metrics if m["MetricName"] == "validation:accuracy:epoch")
        assert epoch < 20  # stopped early, long before its 200 epochs


def test_a_tuning_job_continues_after_the_server_restarts(open_platform):
    first = open_platform()
    request = tuning_request(max_jobs=3, epochs=8, fake_mode="slow")
    first.tuning_jobs.create(request, region="us-east-1")
    wait_for(
        first, "birds-tuning", until=lambda r: any("TrainingStartTime" in s for s in _summaries(first, r))
    )
    first.close()  # the running trial ends Stopped, the tuning job stays InProgress

    second = open_platform()
    record = wait_for(second, "birds-tuning")
    assert record.status == "Completed", record.failure_reason
    statuses = [s["TrainingJobStatus"] for s in _summaries(second, record)]
    assert statuses == ["Stopped", "Completed", "Completed"]


def test_names_are_unique_and_parents_must_exist_and_have_ended(open_platform):
    platform = open_platform()
    platform.tuning_jobs.create(tuning_request(epochs=500, fake_mode="slow"), region="us-east-1")
    with pytest.raises(JobExists, match="a hyperparameter tuning job with this name already exists"):
        platform.tuning_jobs.create(tuning_request(), region="us-east-1")
    child = tuning_request("child")
    child["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nobody"}],
        "WarmStartType": "TransferLearning",
    }
    with pytest.raises(ResourceNotFound, match="can't find a tuning job with name nobody"):
        platform.tuning_jobs.create(child, region="us-east-1")
    child["WarmStartConfig"]["ParentHyperParameterTuningJobs"] = [
        {"HyperParameterTuningJobName": "birds-tuning"}
    ]
    with pytest.raises(
        InvalidRequest, match="The parent tuning job 'birds-tuning' of WarmStartConfig is InProgress"
    ):
        platform.tuning_jobs.create(child, region="us-east-1")
    platform.tuning_jobs.stop("birds-tuning")


def test_a_definition_that_cannot_train_is_refused_before_any_trial(open_platform):
    platform = open_platform()
    request = tuning_request()
    request["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = (
        "s3://birds/none/"
    )
    with pytest.raises(InvalidRequest, match="s3://birds/none/"):
        platform.tuning_jobs.create(request, region="us-east-1")
    del request["TrainingJobDefinition"]["StaticHyperParameters"]["num_classes"]
    with pytest.raises(InvalidRequest, match="'num_classes' is a required property"):
        platform.tuning_jobs.create(request, region="us-east-1")
    assert platform.tuning_jobs.all() == []


def test_a_tuning_job_whose_trials_all_fail_fails_with_a_reason(open_platform):
    platform = open_platform()
    platform.tuning_jobs.create(tuning_request(max_jobs=2, fake_mode="fail"), region="us-east-1")
    record = wait_for(platform, "birds-tuning")
    assert record.status == "Failed"
    assert "No training job of this tuning job ended with an objective metric" in (
        record.failure_reason or ""
    )
    found = _summaries(platform, record)
    assert [s["ObjectiveStatus"] for s in found] == ["Failed", "Failed"]
    assert "mini_batch_size" in found[0]["FailureReason"]


def test_a_reached_target_objective_starts_no_more_trials(open_platform):
    platform = open_platform()
    target = {"TargetObjectiveMetricValue": 0.01}  # any trial reaches it
    request = tuning_request(max_jobs=3, TuningJobCompletionCriteria=target)
    platform.tuning_jobs.create(request, region="us-east-1")
    record = wait_for(platform, "birds-tuning")
    assert record.status == "Completed"
    assert len(_summaries(platform, record)) == 1


def test_trials_not_improving_are_counted_since_the_best():
    def trial(value):
        metric = {"MetricName": "validation:accuracy", "Value": value}
        return {"ObjectiveStatus": "Succeeded", "FinalHyperParameterTuningJobObjectiveMetric": metric}

    found = [trial(0.5), trial(0.7), {"ObjectiveStatus": "Failed"}, trial(0.6), trial(0.7)]
    assert not_improving(found, maximize=True) == 2
    assert not_improving(found, maximize=False) == 3
    assert not_improving([], maximize=True) == 0
