"""A server SIGKILLed mid-job comes back with every job, the interrupted one in a final state."""

import os
from pathlib import Path

from roost_server import fake_server, wait_until

from workshop import workshop_request


def test_a_killed_server_restarts_with_every_job_accounted_for(tmp_path, data_root):
    state = tmp_path / "state"
    first = fake_server(state, data_root)
    sagemaker = first.client("sagemaker")
    sagemaker.create_training_job(**workshop_request("done", epochs=1))
    wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName="done")["TrainingJobStatus"] == "Completed"
    )
    sagemaker.create_training_job(**workshop_request("interrupted", epochs=500, fake_mode="slow"))
    sagemaker.create_training_job(**workshop_request("queued", epochs=1))
    wait_until(lambda: sagemaker.describe_training_job(TrainingJobName="interrupted")["FinalMetricDataList"])
    first.kill()

    second = fake_server(state, data_root)
    try:
        sagemaker = second.client("sagemaker")
        names = {s["TrainingJobName"] for s in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
        assert names == {"done", "interrupted", "queued"}
        lost = sagemaker.describe_training_job(TrainingJobName="interrupted")
        assert lost["TrainingJobStatus"] == "Failed"
        assert "the roost server stopped while this job was in progress" in lost["FailureReason"]
        assert sagemaker.describe_training_job(TrainingJobName="done")["TrainingJobStatus"] == "Completed"
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="queued", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        assert sagemaker.describe_training_job(TrainingJobName="queued")["TrainingJobStatus"] == "Completed"
        # The lost job's log is still there, and its process is gone.
        logs = second.client("logs")
        (stream,) = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="interrupted/"
        )["logStreams"]
        assert stream["storedBytes"] > 0
        assert _processes_of("interrupted") == []
    finally:
        second.kill()


def _processes_of(job: str) -> list[str]:
    """Pids whose environment names the training job (the algorithm and its workers)."""
    marker = f"TRAINING_JOB_NAME={job}\0".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found
