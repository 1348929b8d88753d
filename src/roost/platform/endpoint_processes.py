"""One instance of an endpoint's production variant: a `roost serve` process on a loopback port.

The process is the algorithm's own hosting container (SageMaker's `/ping` and `/invocations` contract);
the platform starts it on a free port in its own process group, copies its output into the endpoint's log
stream (`/aws/sagemaker/Endpoints/<endpoint>`, stream `<variant>/<instance id>`), waits for `/ping`, and
stops it with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import collections
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from roost.platform.local_executor import LocalExecutor, start_ticks
from roost.platform.log_streams import LogStreams

SERVE_COMMAND = (sys.executable, "-m", "roost", "serve")
ENDPOINT_LOG_GROUP = "/aws/sagemaker/Endpoints/{}"
STOP_GRACE_S = 10.0
_TAIL_LINES = 20


def log_group(endpoint: str) -> str:
    return ENDPOINT_LOG_GROUP.format(endpoint)


def _free_port() -> int:
    # The process binds the port itself a moment later; if another one took it meanwhile, the instance
    # fails to start and the supervisor starts it again on another port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Instance:
    """A variant's instance: started once, ready after its first `/ping`, stopped once."""

    def __init__(
        self, log_streams: LogStreams, endpoint: str, variant: str, model_file: Path, command: Sequence[str]
    ) -> None:
        self.endpoint, self.variant, self.model_file = endpoint, variant, model_file
        self.instance_id = f"i-{secrets.token_hex(8)}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stream = log_streams.writer(
            endpoint, time.time(), group=log_group(endpoint), name=f"{variant}/{self.instance_id}"
        )
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.stopping = False
        self.ready = False  # answered /ping once; only ready instances get requests
        self.process = subprocess.Popen(
            [*command, str(model_file), "--host", "127.0.0.1", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=model_file.parent,
            start_new_session=True,  # its own group: a stop reaches every process it started
        )
        self.start_ticks = start_ticks(self.process.pid)
        self._pump = threading.Thread(target=self._copy_output, name=f"log-{endpoint}-{variant}", daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self._tail.append(line)
            self.stream.write(line)

    def log(self, message: str) -> None:
        """A line of the platform's own in the instance's log stream."""
        self.stream.write(message)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> str | None:
        """Wait for `/ping` to answer 200; None when it did, else why the instance is not serving."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline and not cancel.is_set():
                if not self.alive:
                    return self.exit_reason()
                try:
                    if client.get(f"{self.url}/ping").status_code == 200:
                        self.ready = True
                        return None
                except httpx.TransportError:
                    pass
                cancel.wait(0.1)
        if cancel.is_set():
            return "the roost server is shutting down"
        return f"the container did not answer /ping with 200 within {timeout_s:.0f} seconds"

    def exit_reason(self) -> str:
        """Why the process ended, in its own last words when it said any (roost's `error:` line)."""
        self._pump.join(5)
        code = self.process.returncode
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        errors = [line for line in self._tail if line.startswith("error:")]
        return f"the container {how}" + (f": {errors[-1]}" if errors else "")

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        self.stopping = True
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _signal_group(self.process.pid, signal.SIGKILL)  # whatever it started ends with it
        self._pump.join(5)


def kill_orphan(pid: int, start_ticks_then: int | None) -> None:
    """Kill the process group of an instance a previous server left running, if it is still that one."""
    LocalExecutor().kill_orphan(pid, start_ticks_then)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
