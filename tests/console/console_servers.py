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


def start_roost_server(state_dir: Path, data_root: Path) -> tuple[subprocess.Popen, str]:
    """`roost server` (the real algorithm) on a free port; its URL from the line it announces itself with."""
    process = subprocess.Popen(
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
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"listening on (http://\S+)", first)
    if found is None:
        process.kill()
        raise AssertionError(f"roost server did not start: {first}{process.stderr.read()}")
    # Drain the rest, so that a chatty server never blocks on a full pipe.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process, found.group(1)
