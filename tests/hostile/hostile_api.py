"""The roost server's app in this process (Starlette's TestClient), over the fake algorithm, for hostile
API requests: each test gets a fresh state dir and a data root holding the workshop's bucket."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from roost.api.app import create_app
from roost.platform.services import Platform
from roost.platform.storage import Storage

FAKE_ALGORITHM = (sys.executable, str(Path(__file__).parents[1] / "platform" / "fake_algorithm.py"))
TARGET_PREFIX = {"sagemaker": "SageMaker", "logs": "Logs_20140328"}


@dataclass
class Api:
    client: TestClient
    data_root: Path
    platform: Platform
    stream: str = ""  # a log stream, for tests that need one

    def post(self, target: str, body: bytes, **headers: str) -> httpx.Response:
        return self.client.post(
            "/",
            content=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **headers},
        )

    def call(self, service: str, operation: str, payload: Any) -> httpx.Response:
        return self.post(f"{TARGET_PREFIX[service]}.{operation}", json.dumps(payload).encode())

    def wait_until_finished(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.call("sagemaker", "DescribeTrainingJob", {"TrainingJobName": name}).json()
            if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"{name} did not finish")


@contextmanager
def api(tmp_path: Path) -> Iterator[Api]:
    data_root = tmp_path / "data"
    for channel in ("train", "validation"):
        folder = data_root / "birds" / channel
        folder.mkdir(parents=True)
        (folder / f"birds_{channel}.rec").write_bytes(b"records")
    platform = Platform.open(
        tmp_path / "state", Storage(data_root, confined=True), command=FAKE_ALGORITHM, stop_grace_s=1.0
    )
    with TestClient(create_app(platform), base_url="http://127.0.0.1") as client:
        yield Api(client, data_root, platform)
