"""A running job's host metrics, as SageMaker publishes them for training jobs: `CPUUtilization` (the sum
over cores, each 0-100, so 0-200 on two cores) and `MemoryUtilization` (percent of the machine's memory), in
namespace `/aws/sagemaker/TrainingJobs` with dimension `Host` = `<job>/algo-1`.

They are read from /proc for the job's process group (the executor starts each job in a session of its
own), every few seconds while any of its processes lives; where there is no /proc there are none.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from roost.platform.metrics import Metric, Metrics
from roost.platform.training_metrics import NAMESPACE

SAMPLE_S = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class GroupUsage:
    cpu_seconds: float  # user + system, children that were waited for included
    rss_bytes: int
    processes: int


def group_usage(group: int, proc: Path = Path("/proc")) -> GroupUsage:
    """What the processes of process group `group` use now."""
    ticks, pages, count = 0, 0, 0
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # it ended while we looked
            continue
        # After the command: state, ppid, pgrp, ...; utime, stime, cutime, cstime are fields 14-17 of
        # stat(5), rss (pages) field 24.
        if int(fields[2]) != group or fields[0] == "Z":
            continue
        ticks += sum(int(f) for f in fields[11:15])
        pages += int(fields[21])
        count += 1
    return GroupUsage(ticks / _CLOCK_TICKS, pages * os.sysconf("SC_PAGE_SIZE"), count)


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class HostSampler:
    """Records one job's host metrics from its process group until the group is gone."""

    def __init__(self, metrics: Metrics, job_name: str, group: int, every: float = SAMPLE_S) -> None:
        self.metrics, self.group, self.every = metrics, group, every
        self.host = {"Host": f"{job_name}/algo-1"}
        self._thread = threading.Thread(target=self._sample, name=f"host-metrics-{job_name}", daemon=True)

    def start(self) -> None:
        if Path("/proc").is_dir():
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _sample(self) -> None:
        before, then = group_usage(self.group), time.time()
        total = _memory_bytes()
        while before.processes:
            time.sleep(self.every)
            usage, now = group_usage(self.group), time.time()
            if not usage.processes or not usage.rss_bytes:  # gone, or exiting (its memory already freed)
                return
            # A worker that ended takes its CPU time with it unless waited for: never below zero.
            cpu = max(usage.cpu_seconds - before.cpu_seconds, 0.0) / (now - then) * 100
            self.metrics.put(Metric.of(NAMESPACE, "CPUUtilization", self.host), [(now, cpu)])
            self.metrics.put(
                Metric.of(NAMESPACE, "MemoryUtilization", self.host), [(now, usage.rss_bytes / total * 100)]
            )
            before, then = usage, now
