"""How a job ends when things go wrong late: a stop during Uploading, a failure after a model was saved,
a stop before any weights (issue 9, #9 and #10)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fake_jobs import data_root, open_jobs, wait_for

from roost.platform.storage import Storage
from workshop import workshop_request


class _StorageThatCallsBack(Storage):
    """A storage that runs `before_put` as the model is being uploaded."""

    before_put: Callable[[], None] = staticmethod(lambda: None)

    def put(self, local_file: Path, uri: str) -> None:
        self.before_put()
        super().put(local_file, uri)


def test_a_stop_during_uploading_ends_stopped_with_the_model(tmp_path: Path):
    storage = _StorageThatCallsBack(data_root(tmp_path), confined=True)
    jobs = open_jobs(tmp_path, storage)
    storage.before_put = lambda: jobs.stop("uploading")
    try:
        jobs.queue.start()
        jobs.create(workshop_request("uploading", epochs=1))
        record = wait_for(jobs, "uploading")
    finally:
        jobs.queue.close(timeout=10)
    assert (record.status, record.secondary_status) == ("Stopped", "Stopped")
    assert [t["Status"] for t in record.transitions][-3:] == ["Uploading", "Stopping", "Stopped"]
    assert record.model_artifacts == "s3://birds/uploading/output/model.tar.gz"
    assert (storage.data_root / "birds" / "uploading" / "output" / "model.tar.gz").is_file()


def test_a_job_that_fails_after_saving_a_model_publishes_no_artifact(tmp_path: Path):
    jobs = open_jobs(tmp_path)
    try:
        jobs.queue.start()
        jobs.create(workshop_request("failed-late", epochs=2, fake_mode="fail-late"))
        record = wait_for(jobs, "failed-late")
    finally:
        jobs.queue.close(timeout=10)
    assert (record.status, record.failure_reason) == ("Failed", "AlgorithmError: No space left on device")
    assert record.model_artifacts is None
    assert not (jobs.storage.data_root / "birds" / "failed-late").exists()


def test_a_job_stopped_before_its_first_weights_publishes_no_tar_without_them(tmp_path: Path):
    jobs = open_jobs(tmp_path)
    try:
        jobs.queue.start()
        jobs.create(workshop_request("no-weights", fake_mode="no-weights"))
        wait_for(jobs, "no-weights", until=lambda r: r.secondary_status == "Training")
        jobs.stop("no-weights")
        record = wait_for(jobs, "no-weights")
    finally:
        jobs.queue.close(timeout=10)
    assert record.status == "Stopped"
    assert record.model_artifacts is None
    assert not list((jobs.storage.data_root / "birds").glob("no-weights/**/model.tar.gz"))
