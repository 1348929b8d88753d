"""Platform fixtures: a data root with a bucket, requests in the workshop's shape, a fake algorithm."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workshop import workshop_request

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).with_name("fake_algorithm.py")))


@pytest.fixture
def make_request():
    return workshop_request


@pytest.fixture
def fake_algorithm() -> tuple[str, ...]:
    return FAKE_ALGORITHM


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A data root with bucket `birds` holding train/ and validation/ (the files' bytes don't matter here)."""
    root = tmp_path / "data"
    for channel in ("train", "validation"):
        folder = root / "birds" / channel
        folder.mkdir(parents=True)
        (folder / f"birds_{channel}.rec").write_bytes(b"records")
        (folder / f"birds_{channel}.idx").write_text("0\t0\n")
    return root
