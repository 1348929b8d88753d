"""A server SIGKILLed mid-tuning restarts and finishes the tuning job; the trial it lost is a failure."""

from roost_server import fake_server, wait_until

from workshop import tuning_request


def test_a_tuning_job_finishes_after_its_server_was_killed(tmp_path, data_root):
    state = tmp_path / "state"
    first = fake_server(state, data_root)
    sagemaker = first.client("sagemaker")
    request = tuning_request("killed", max_jobs=2, epochs=8, fake_mode="slow")
    sagemaker.create_hyper_parameter_tuning_job(**request)

    def training() -> bool:
        trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="killed"
        )
        return any("TrainingStartTime" in t for t in trials["TrainingJobSummaries"])

    wait_until(training)
    first.kill()

    second = fake_server(state, data_root)
    try:
        sagemaker = second.client("sagemaker")

        def ended() -> dict | None:
            found = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="killed")
            return found if found["HyperParameterTuningJobStatus"] != "InProgress" else None

        tuned = wait_until(ended)
        assert tuned["HyperParameterTuningJobStatus"] == "Completed"
        assert tuned["TrainingJobStatusCounters"]["NonRetryableError"] == 1
        assert tuned["TrainingJobStatusCounters"]["Completed"] == 1
        assert tuned["BestTrainingJob"]["TrainingJobName"].startswith("killed-002-")
    finally:
        second.kill()
