"""`roost train --output models` records its jobs beside the models, not in ~/.roost (issue 9, #15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.errors import UserError
from roost.platform.foreground import build_request, create_training_job
from roost.platform.store import Store


def test_a_foreground_job_is_recorded_in_its_output_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "birds_train.rec").write_bytes(b"records")
    request = build_request(
        channels={"train": str(tmp_path / "train")},
        output=str(tmp_path / "models"),
        hyperparameters={"num_classes": "2", "num_training_samples": "8"},
        job_name="beside-its-models",
    )
    job = create_training_job(request)
    assert job.state_dir == tmp_path / "models" / ".roost"
    assert Store(job.state_dir / "roost.db").get("beside-its-models") is not None
    assert not (tmp_path / "home" / ".roost").exists()


def test_a_refused_request_leaves_no_store_in_the_output_folder(tmp_path: Path):
    request = build_request(
        channels={"train": str(tmp_path / "missing")},
        output=str(tmp_path / "models"),
        hyperparameters={"num_classes": "2", "num_training_samples": "8"},
    )
    with pytest.raises(UserError, match="No S3 objects found under S3 URL"):
        create_training_job(request)
    assert not (tmp_path / "models").exists()
