"""A store that refuses writes (`database or disk is full`) leaves no job InProgress forever: a running
job ends Failed and its processes end; the queue outlives the error, and once writes work again
StopTrainingJob and MaxRuntimeInSeconds work as before (issue 9, #4)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fake_jobs import open_jobs, wait_for

from roost.platform import training_jobs
from roost.platform.store import Store
from workshop import workshop_request


class FullDiskStore(Store):
    """A store whose writes fail while `full` is set, as SQLite's do when the disk is full."""

    full = threading.Event()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        if self.full.is_set():
            raise sqlite3.OperationalError("database or disk is full")
        with super().write() as db:
            yield db


@pytest.fixture
def jobs(tmp_path: Path, monkeypatch):
    FullDiskStore.full.clear()
    monkeypatch.setattr(training_jobs, "Store", FullDiskStore)
    opened = open_jobs(tmp_path)
    yield opened
    FullDiskStore.full.clear()
    opened.queue.close(timeout=10)


def _full_for(seconds: float) -> None:
    FullDiskStore.full.set()
    time.sleep(seconds)
    FullDiskStore.full.clear()


def test_a_full_disk_while_a_job_trains_fails_it_and_ends_its_processes(jobs):
    jobs.queue.start()
    jobs.create(workshop_request("full-disk", epochs=500, fake_mode="slow"))
    pid = wait_for(jobs, "full-disk", until=lambda r: r.final_metrics).pid
    _full_for(1.0)
    record = wait_for(jobs, "full-disk", timeout=15)
    assert record.status == "Failed"
    assert "database or disk is full" in record.failure_reason
    assert record.model_artifacts is None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_the_queue_outlives_a_store_error_and_stop_and_max_runtime_still_work(jobs):
    jobs.create(workshop_request("queued"))
    jobs.stop("queued")
    FullDiskStore.full.set()
    jobs.queue.start()  # its first round cannot end the stopped job
    time.sleep(1.5)
    FullDiskStore.full.clear()
    assert wait_for(jobs, "queued").status == "Stopped"
    slow = {"fake_mode": "slow"}
    jobs.create(workshop_request("timed", epochs=500, StoppingCondition={"MaxRuntimeInSeconds": 1}, **slow))
    record = wait_for(jobs, "timed")
    assert (record.status, record.secondary_status) == ("Stopped", "MaxRuntimeExceeded")
    jobs.create(workshop_request("stopped", epochs=500, **slow))
    wait_for(jobs, "stopped", until=lambda r: r.final_metrics)
    jobs.stop("stopped")
    assert wait_for(jobs, "stopped").status == "Stopped"
