"""The platform's defaults that front doors show in their help, importable without loading the platform."""

from __future__ import annotations

from pathlib import Path

# Where jobs, their logs and their directories are kept unless a command is told otherwise.
DEFAULT_STATE_DIR = Path.home() / ".roost"
# SageMaker's stop: SIGTERM, then SIGKILL 120 s later (docs/algorithm.md, "Stopping").
STOP_GRACE_S = 120.0
