"""Fixtures: one fake-algorithm server per module, and a data root with the workshop's bucket."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from roost_server import Server, fake_server, write_channel


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_channel(root / "birds" / "train", "birds_train")
    write_channel(root / "birds" / "validation", "birds_val")
    (root / "birds" / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_root: Path) -> Iterator[Server]:
    running = fake_server(tmp_path_factory.mktemp("state"), data_root)
    yield running
    running.kill(signal.SIGTERM)
