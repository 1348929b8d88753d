"""A job's log stream: CloudWatch's names, one event per line as the algorithm printed it.

Log group `/aws/sagemaker/TrainingJobs`, stream `<job-name>/algo-1-<epoch-seconds>` (the time the algorithm
started). Lines keep their tabs (CloudWatch shows them as `#011` in its console; the API returns them as is).
"""

from __future__ import annotations

import time

from roost.platform.store import TRAINING_LOG_GROUP, Store

LOG_GROUP = TRAINING_LOG_GROUP
# CloudWatch's largest event is 256 KiB including 26 bytes of overhead; longer lines are cut to fit.
MAX_MESSAGE_BYTES = 262_144 - 26


def stream_name(job_name: str, started_at: float) -> str:
    return f"{job_name}/algo-1-{int(started_at)}"


def milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


class LogStreamWriter:
    """Appends the lines of one algorithm process to its stream as they arrive (a training job's unless
    another group and stream name are given)."""

    def __init__(
        self,
        store: Store,
        job_name: str,
        started_at: float,
        *,
        group: str = LOG_GROUP,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.name = name or stream_name(job_name, started_at)
        store.create_stream(self.name, job_name, milliseconds(started_at), log_group=group)

    def write(self, line: str, at: float | None = None) -> None:
        message = line.rstrip("\r\n")
        if not message:  # CloudWatch events are never empty
            return
        encoded = message.encode()
        if len(encoded) > MAX_MESSAGE_BYTES:
            message = encoded[:MAX_MESSAGE_BYTES].decode(errors="ignore")
        now = time.time()
        self.store.append_events(self.name, [(milliseconds(at or now), message)], milliseconds(now))
