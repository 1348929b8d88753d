"""Helpers for API tests: a real server process on a free port, boto3 clients, the workshop's request."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).parent
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    state_dir: Path
    data_root: Path

    def client(self, service: str, **config):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def kill(self, signum: int = signal.SIGKILL) -> None:
        self.process.send_signal(signum)
        self.process.wait(timeout=60)


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, **AWS_ENV})
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"listening on (http://\S+)", first)
    if found is None:
        process.kill()
        raise AssertionError(f"the server did not start: {first}{process.stderr.read()}")
    return process, found.group(1)


def fake_server(state_dir: Path, data_root: Path, grace: float = 2.0) -> Server:
    process, url = start_server(
        [sys.executable, str(HERE / "fake_server.py"), str(state_dir), str(data_root), str(grace)]
    )
    return Server(process, url, state_dir, data_root)


def write_channel(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.rec").write_bytes(b"records")


def wait_until(predicate, timeout: float = 60, every: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")
