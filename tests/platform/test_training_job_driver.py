import tarfile
import time
from pathlib import Path

import pytest

from roost.platform.storage import Storage
from roost.platform.store import JobRecord
from roost.platform.training_jobs import TrainingJobs


@pytest.fixture
def jobs(tmp_path: Path, data_root: Path, fake_algorithm):
    opened = TrainingJobs.open(
        tmp_path / "state", Storage(data_root, confined=True), command=fake_algorithm, stop_grace_s=1.0
    )
    yield opened
    opened.queue.close(timeout=10)


def wait_for(jobs: TrainingJobs, name: str, *, until=lambda r: r.finished, timeout: float = 30) -> JobRecord:
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = jobs.describe(name)
        if until(record):
            return record
        time.sleep(0.05)
    raise AssertionError(f"{name} is still {jobs.describe(name).secondary_status}")


def test_a_job_completes_with_a_flat_model_metrics_and_its_log(jobs, make_request, data_root: Path):
    jobs.queue.start()
    jobs.create(make_request("birds-1"))
    record = wait_for(jobs, "birds-1")
    assert record.status == "Completed", record.failure_reason
    assert [t["Status"] for t in record.transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert record.model_artifacts == "s3://birds/birds-1/output/model.tar.gz"
    with tarfile.open(data_root / "birds" / "birds-1" / "output" / "model.tar.gz") as archive:
        assert sorted(archive.getnames()) == [
            "image-classification-0001.params",
            "image-classification-0002.params",
            "image-classification-symbol.json",
        ]
    metrics = {m["MetricName"]: m["Value"] for m in record.final_metrics}
    assert metrics == {
        "train:accuracy": 0.51,
        "validation:accuracy": 0.41,
        "train:accuracy:epoch": 1.0,
        "validation:accuracy:epoch": 1.0,
    }
    (stream,) = jobs.log_streams.streams("birds-1/")
    assert stream.name == f"birds-1/algo-1-{int(record.training_start_time)}"
    messages = [e.message for e in jobs.log_streams.events([stream.name], limit=100)]
    assert "job birds-1 channels ['train', 'validation']" in messages[0]
    assert any("Epoch[0] Batch [20]\tSpeed: 191.406 samples/sec\taccuracy=0.976190" in m for m in messages)
    job_dir = Path(record.job_dir)
    assert (
        job_dir / "input/data/train/birds_train.rec"
    ).resolve() == data_root / "birds/train/birds_train.rec"
    assert (job_dir / "input/config/resourceconfig.json").is_file()


def test_a_failing_algorithm_gives_its_failure_reason(jobs, make_request):
    jobs.queue.start()
    jobs.create(make_request("birds-2", fake_mode="fail"))
    record = wait_for(jobs, "birds-2")
    assert (record.status, record.secondary_status) == ("Failed", "Failed")
    assert record.failure_reason == (
        "ClientError: The number of input images must be bigger or equal to the mini_batch_size."
    )
    assert record.model_artifacts is None


def test_stop_sends_sigterm_and_keeps_the_model_so_far(jobs, make_request):
    jobs.queue.start()
    request = make_request("birds-3", fake_mode="slow")
    request["HyperParameters"]["epochs"] = "200"
    jobs.create(request)
    wait_for(jobs, "birds-3", until=lambda r: r.final_metrics)
    jobs.stop("birds-3")
    record = wait_for(jobs, "birds-3")
    assert (record.status, record.secondary_status) == ("Stopped", "Stopped")
    assert record.model_artifacts is not None
    assert [t["Status"] for t in record.transitions][-2:] == ["Stopping", "Stopped"]


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(jobs, make_request):
    jobs.queue.start()
    request = make_request("birds-4", fake_mode="ignore-term")
    request["HyperParameters"]["epochs"] = "200"
    jobs.create(request)
    wait_for(jobs, "birds-4", until=lambda r: r.final_metrics)
    stopped_at = time.time()
    jobs.stop("birds-4")
    record = wait_for(jobs, "birds-4")
    assert record.status == "Stopped"
    assert 1.0 <= time.time() - stopped_at < 5


def test_max_runtime_stops_the_job(jobs, make_request):
    jobs.queue.start()
    request = make_request("birds-5", fake_mode="slow", StoppingCondition={"MaxRuntimeInSeconds": 1})
    request["HyperParameters"]["epochs"] = "200"
    jobs.create(request)
    record = wait_for(jobs, "birds-5")
    assert (record.status, record.secondary_status) == ("Stopped", "MaxRuntimeExceeded")


def test_jobs_queue_one_at_a_time_and_a_queued_job_stops_at_once(jobs, make_request):
    jobs.queue.start()
    first = make_request("birds-6", fake_mode="slow")
    first["HyperParameters"]["epochs"] = "200"
    jobs.create(first)
    jobs.create(make_request("birds-7"))
    jobs.create(make_request("birds-8"))
    wait_for(jobs, "birds-6", until=lambda r: r.secondary_status == "Training")
    assert jobs.describe("birds-7").secondary_status == "Starting"
    jobs.stop("birds-8")
    assert wait_for(jobs, "birds-8").status == "Stopped"
    jobs.stop("birds-6")
    assert wait_for(jobs, "birds-7").status == "Completed"


def test_recovery_fails_jobs_whose_process_was_lost_and_keeps_queued_ones(jobs, make_request):
    jobs.create(make_request("birds-9"))
    jobs.create(make_request("birds-10"))
    jobs.store.transition(
        "birds-9", status="InProgress", secondary="Training", message="", at=time.time(), pid=999_999_999
    )
    jobs.queue.recover()
    lost = jobs.describe("birds-9")
    assert lost.status == "Failed"
    assert "the roost server stopped while this job was in progress (Training)" in lost.failure_reason
    assert jobs.describe("birds-10").secondary_status == "Starting"
    jobs.queue.start()
    assert wait_for(jobs, "birds-10").status == "Completed"
