"""Training jobs run by the platform's fake algorithm (tests/platform/fake_algorithm.py), for the platform's
hostile cases: a data root with a bucket, the workshop's request, a wait for a job's state."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from roost.platform.storage import Storage
from roost.platform.store import JobRecord
from roost.platform.training_jobs import TrainingJobs

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).parents[1] / "platform" / "fake_algorithm.py"))


def data_root(tmp_path: Path) -> Path:
    """Bucket `birds` with train/ and validation/ channels (their bytes don't matter to the fake)."""
    root = tmp_path / "data"
    for channel in ("train", "validation"):
        folder = root / "birds" / channel
        folder.mkdir(parents=True)
        (folder / f"birds_{channel}.rec").write_bytes(b"records")
    return root


def open_jobs(tmp_path: Path, storage: Storage | None = None) -> TrainingJobs:
    storage = storage or Storage(data_root(tmp_path), confined=True)
    return TrainingJobs.open(tmp_path / "state", storage, command=FAKE_ALGORITHM, stop_grace_s=1.0)


def wait_for(jobs: TrainingJobs, name: str, *, until=lambda r: r.finished, timeout: float = 30) -> JobRecord:
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = jobs.describe(name)
        if until(record):
            return record
        time.sleep(0.05)
    record = jobs.describe(name)
    raise AssertionError(f"{name} is still {record.status} ({record.secondary_status})")
