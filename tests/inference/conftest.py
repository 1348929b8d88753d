"""Fixtures: one tiny model artifact and one `roost serve` process per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from endpoint_helpers import ServeProcess, TinyModel, make_model, start_serve


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> TinyModel:
    return make_model(tmp_path_factory.mktemp("artifact"))


@pytest.fixture(scope="module")
def endpoint(tiny_model: TinyModel) -> Iterator[ServeProcess]:
    server = start_serve(str(tiny_model.archive))
    yield server
    server.stop()
