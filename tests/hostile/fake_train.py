"""`roost train ARGS...` with the platform's fake algorithm (tests/platform/fake_algorithm.py) in place of
the real one, so that a test can signal it mid-training within a second of starting it."""

from __future__ import annotations

import sys

from fake_jobs import FAKE_ALGORITHM

from roost.cli import main
from roost.platform import foreground

assert foreground.create_training_job.__kwdefaults__ is not None
foreground.create_training_job.__kwdefaults__["command"] = FAKE_ALGORITHM
sys.exit(main(["train", *sys.argv[1:]]))
