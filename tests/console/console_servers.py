"""Servers for the console's tests: `roost server` with the real algorithm, and the data it reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from algorithm.tiny_jobs import write_rec

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).parents[1] / "platform" / "fake_algorithm.py"))


def birds_bucket(root: Path, train: int = 32, validation: int = 16) -> Path:
    """s3://birds/train/ and s3://birds/validation/ under `root`: 4 classes of tiny images, labels 0-3."""
    for channel in ("train", "validation"):
        (root / "birds" / channel).mkdir(parents=True)
    write_rec(root / "birds" / "train" / "birds_train.rec", [i % 4 for i in range(train)], seed=1)
    write_rec(root / "birds" / "validation" / "birds_val.rec", [i % 4 for i in range(validation)], seed=2)
    return root


def _announced(command: list[str]) -> tuple[subprocess.Popen, str]:
    """Start a server process; its URL from the line it announces itself with."""
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"listening on (http://\S+)", first)
    if found is None:
        process.kill()
        raise AssertionError(f"the server did not start: {first}{process.stderr.read()}")
    # Drain the rest, so that a chatty server never blocks on a full pipe.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process, found.group(1)


def start_roost_server(state_dir: Path, data_root: Path) -> tuple[subprocess.Popen, str]:
    """`roost server` with the real algorithm, on a free port."""
    return _announced(
        [
            sys.executable,
            "-m",
            "roost",
            "server",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--data-root",
            str(data_root),
            "--stop-grace-seconds",
            "20",
        ]
    )


def start_fake_server(state_dir: Path, data_root: Path) -> tuple[subprocess.Popen, str]:
    """The API tests' server (tests/api/fake_server.py): the same app over the fake algorithm, in a second."""
    script = Path(__file__).parents[1] / "api" / "fake_server.py"
    return _announced([sys.executable, str(script), str(state_dir), str(data_root), "2"])
