"""boto3's hyperparameter tuning calls against a real server process (fake algorithm)."""

import pytest
from botocore.exceptions import ClientError
from roost_server import wait_until

from workshop import tuning_request


def _ended(sagemaker, name: str) -> dict:
    def done():
        found = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        return found if found["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping") else None

    return wait_until(done, every=0.2)


@pytest.fixture(scope="module")
def tuned(server):
    sagemaker = server.client("sagemaker")
    request = tuning_request("boto3-tuning", strategy="Random", max_jobs=3, max_parallel=2)
    request["Tags"] = [{"Key": "project", "Value": "birds"}]
    arn = sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/boto3-tuning"
    return _ended(sagemaker, "boto3-tuning")


def test_describe_has_sagemakers_counters_and_best_trial(tuned, server):
    assert tuned["HyperParameterTuningJobStatus"] == "Completed"
    assert tuned["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert tuned["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    best = tuned["BestTrainingJob"]
    assert best["ObjectiveStatus"] == "Succeeded"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:accuracy"
    assert tuned["HyperParameterTuningJobConfig"]["Strategy"] == "Random"
    static = tuned["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["_tuning_objective_metric"] == "validation:accuracy"
    assert tuned["HyperParameterTuningEndTime"] >= tuned["CreationTime"]
    # The best trial is an ordinary training job, with its model.
    job = server.client("sagemaker").describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert job["HyperParameters"]["learning_rate"] == best["TunedHyperParameters"]["learning_rate"]
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith(
        f"/{best['TrainingJobName']}/output/model.tar.gz"
    )


def test_trials_list_sorted_by_objective_and_in_pages(tuned, server):
    sagemaker = server.client("sagemaker")
    listed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="boto3-tuning", SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in listed]
    assert values == sorted(values, reverse=True)
    assert listed[0]["TrainingJobName"] == tuned["BestTrainingJob"]["TrainingJobName"]
    paginator = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    pages = list(
        paginator.paginate(HyperParameterTuningJobName="boto3-tuning", PaginationConfig={"PageSize": 2})
    )
    assert [len(p["TrainingJobSummaries"]) for p in pages] == [2, 1]
    names = [s["TrainingJobName"] for p in pages for s in p["TrainingJobSummaries"]]
    assert names == sorted(s["TrainingJobName"] for s in listed)


def test_the_tuning_jobs_tags_are_its_trials_tags(tuned, server):
    sagemaker = server.client("sagemaker")
    tags = [{"Key": "project", "Value": "birds"}]
    assert sagemaker.list_tags(ResourceArn=tuned["HyperParameterTuningJobArn"])["Tags"] == tags
    assert sagemaker.list_tags(ResourceArn=tuned["BestTrainingJob"]["TrainingJobArn"])["Tags"] == tags


def test_list_tuning_jobs(tuned, server):
    summaries = server.client("sagemaker").list_hyper_parameter_tuning_jobs(NameContains="boto3-")[
        "HyperParameterTuningJobSummaries"
    ]
    assert [(s["HyperParameterTuningJobName"], s["Strategy"]) for s in summaries] == [
        ("boto3-tuning", "Random")
    ]
    assert summaries[0]["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2}


def test_stop_ends_the_tuning_job_stopped(server):
    sagemaker = server.client("sagemaker")
    request = tuning_request("boto3-stop", max_jobs=2, epochs=500, fake_mode="slow")
    sagemaker.create_hyper_parameter_tuning_job(**request)
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="boto3-stop")
    assert _ended(sagemaker, "boto3-stop")["HyperParameterTuningJobStatus"] == "Stopped"


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (lambda r: r, "ResourceInUse", "a hyperparameter tuning job with this name already exists"),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"].update(
                IntegerParameterRanges=[{"Name": "num_classes", "MinValue": "2", "MaxValue": "3"}]
            ),
            "ValidationException",
            "the following untunable hyperparameters: [num_classes]",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(MaxParallelTrainingJobs=9),
            "ValidationException",
            "MaxParallelTrainingJobs (9) can't be greater than MaxNumberOfTrainingJobs (3)",
        ),
    ],
)
def test_bad_requests_get_sagemakers_errors(tuned, server, change, code, message):
    request = tuning_request("boto3-tuning")
    change(request)
    with pytest.raises(ClientError) as refused:
        server.client("sagemaker").create_hyper_parameter_tuning_job(**request)
    assert refused.value.response["Error"]["Code"] == code
    assert message in refused.value.response["Error"]["Message"]


def test_an_unknown_tuning_job_is_not_found(server):
    with pytest.raises(ClientError) as missing:
        server.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nobody")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
