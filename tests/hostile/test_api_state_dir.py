"""Issue 12: a relative state dir (`roost server --state-dir state`, `roost train --state-dir state`) runs
jobs; the algorithm, which gets its job directory as its working directory too, once found nothing."""

import time
from pathlib import Path

from hostile_api import FAKE_ALGORITHM

from roost.platform.storage import Storage
from roost.platform.training_jobs import TrainingJobs
from workshop import workshop_request


def test_jobs_run_under_a_relative_state_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for channel in ("train", "validation"):
        Path("data/birds", channel).mkdir(parents=True)
        Path("data/birds", channel, "birds.rec").write_bytes(b"records")
    jobs = TrainingJobs.open(Path("state"), Storage(Path("data"), confined=True), command=FAKE_ALGORITHM)
    jobs.queue.start()
    try:
        jobs.create(workshop_request("relative", epochs=1))
        deadline = time.time() + 30
        while not jobs.describe("relative").finished and time.time() < deadline:
            time.sleep(0.05)
        record = jobs.describe("relative")
    finally:
        jobs.queue.close()
    assert record.status == "Completed", record.failure_reason
    assert Path(record.job_dir).is_absolute()
