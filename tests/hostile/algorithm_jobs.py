"""Helpers for the algorithm's hostile tests: tiny jobs with damaged inputs, run as the platform runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from algorithm.tiny_jobs import TINY, make_job

# A job of a few dozen 28 x 28 images ends in seconds; one that hangs is killed at this and fails the test.
HANG_LIMIT_S = 120

SMALL = dict(TINY, epochs="1", num_training_samples="24")


@dataclass(frozen=True)
class Ended:
    code: int
    output: str
    failure: str | None


def small_job(root: Path, **hyperparameters: str) -> Path:
    return make_job(
        root, dict(SMALL, **hyperparameters), train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3]
    )


def run_job(root: Path, *python: str) -> Ended:
    """`roost algorithm train --ml-dir root` in its own process group, killed whole if it hangs.

    `python`, when given, is code run first in the algorithm's process (to plant a fault)."""
    entry = "import sys; from roost.cli import main; sys.exit(main(['algorithm', 'train', '--ml-dir', sys.argv[1]]))"  # noqa: E501
    process = subprocess.Popen(
        [sys.executable, "-c", ";".join([*python, entry]), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=HANG_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"the job did not end within {HANG_LIMIT_S} s") from None
    failure = root / "output" / "failure"
    return Ended(process.returncode, output, failure.read_text() if failure.exists() else None)
