"""What a SageMaker instance type becomes on this machine: its GPUs if it has any, else its CPU.

The algorithm picks its devices itself; this only tells the user, in the job's status message, what the
requested instance type maps to here.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from roost.machine import available_cores, memory_bytes

# What one simulated host (a training process with its loader workers) was measured to take.
HOST_MEMORY_BYTES = 1_100_000_000


@functools.cache
def local_devices() -> str:
    """This machine's compute, in words: '1 GPU (NVIDIA H100 80GB HBM3)' or 'CPU (16 cores)'."""
    gpus = _gpu_names()
    if gpus:
        kinds = ", ".join(sorted(set(gpus)))
        return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({kinds})"
    return f"CPU ({available_cores()} cores)"


def _gpu_names() -> list[str]:
    # nvidia-smi rather than torch: the server should not load torch to say what it runs on.
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listed = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return []
    names = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        wanted = [int(i) for i in visible.split(",") if i.strip().isdigit()]
        names = [names[i] for i in wanted if i < len(names)]
    return names if listed.returncode == 0 else []


def instance_mapping(instance_type: str, instance_count: int) -> str:
    hosts = f"{instance_count} x {instance_type}" if instance_count > 1 else instance_type
    return f"{hosts} runs on this machine's {local_devices()}"


def max_instance_count() -> int:
    """The most instances one job may simulate here: as many hosts as this machine's memory holds."""
    return max(1, memory_bytes() // HOST_MEMORY_BYTES)
