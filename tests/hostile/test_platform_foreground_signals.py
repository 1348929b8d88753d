"""`roost train` stopped by Ctrl-C or SIGTERM ends as StopTrainingJob does (issue 9, #8): the job Stopped,
the model so far uploaded, no process left behind, and a message that says so; the job is recorded
beside the models (#15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from roost.platform.store import Store

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")


@pytest.mark.parametrize(
    ("signals", "code"),
    [([signal.SIGINT], 130), ([signal.SIGTERM], 143), ([signal.SIGINT, signal.SIGINT], 130)],
    ids=["ctrl-c", "sigterm", "ctrl-c-twice"],
)
def test_roost_train_stopped_by_a_signal_ends_stopped_with_its_model(tmp_path: Path, signals, code):
    for channel in ("train", "validation"):
        (tmp_path / channel).mkdir()
        (tmp_path / channel / f"birds_{channel}.rec").write_bytes(b"records")
    models = tmp_path / "models"
    command = [sys.executable, str(FAKE_TRAIN), "--job-name", "stopped-by-signal", "--output", str(models)]
    command += ["--train", str(tmp_path / "train"), "--validation", str(tmp_path / "validation")]
    command += ["-H", "num_classes=2", "-H", "num_training_samples=16", "-H", "epochs=500"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "FAKE_MODE": "slow", "COLUMNS": "200", "HOME": str(tmp_path / "home")},
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # until the first epoch is over
        seen.append(line)
        if "Epoch[0] Validation-accuracy" in line:
            break
    for signum in signals:
        process.send_signal(signum)
    rest, _ = process.communicate(timeout=120)
    output = "".join(seen) + rest
    assert process.returncode == code, output
    # Recorded beside the models (issue 9, #15), not in a ~/.roost that other people's jobs may share.
    assert not (tmp_path / "home" / ".roost").exists()
    record = Store(models / ".roost" / "roost.db").get("stopped-by-signal")
    assert record is not None
    assert (record.status, record.secondary_status) == ("Stopped", "Stopped"), output
    model = models / "stopped-by-signal" / "output" / "model.tar.gz"
    assert record.model_artifacts is not None and model.is_file()
    with tarfile.open(model) as archive:
        assert any(name.endswith(".params") for name in archive.getnames())
    with pytest.raises(ProcessLookupError):  # the algorithm's process group is gone
        os.killpg(record.pid, 0)
    assert "Stopped" in rest and str(model) in rest.replace("\n", ""), rest
