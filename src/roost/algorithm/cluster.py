"""Where this training process runs: its rank among all processes, its device, its share of the batch.

SageMaker semantics (docs/algorithm.md §8.1): `mini_batch_size` is per machine (host) and split evenly over
the host's devices; with several hosts the global batch is `mini_batch_size x hosts`. Processes come from
`torchrun` (RANK/WORLD_SIZE/LOCAL_WORLD_SIZE in the environment) or from roost's own launcher, which
starts one process per GPU, or one per host named in resourceconfig.json when simulating several hosts
on one CPU machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from roost.machine import available_cores, tune_cpu_allocator


@dataclass(frozen=True)
class Cluster:
    rank: int = 0
    world: int = 1
    hosts: int = 1
    local_rank: int = 0
    machine_processes: int = 1  # processes sharing this machine's cores
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def leader(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def from_environment() -> Cluster | None:
    """The cluster torchrun (or roost's launcher) describes in the environment, if any."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return None
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    on_machine = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    gpus = torch.cuda.device_count()
    device = torch.device("cuda", local_rank % gpus) if gpus else torch.device("cpu")
    return Cluster(
        rank=int(os.environ["RANK"]),
        world=world,
        # torchrun runs one node per host; roost's launcher may simulate several hosts on one machine.
        hosts=int(os.environ.get("ROOST_HOSTS", max(1, world // on_machine))),
        local_rank=local_rank,
        machine_processes=on_machine,
        device=device,
    )


def single_process() -> Cluster:
    return Cluster(device=torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))


def join(cluster: Cluster) -> None:
    """Enter the process group (NCCL on GPUs, gloo on CPUs) and pin this process's device and threads."""
    if cluster.device.type == "cuda":
        torch.cuda.set_device(cluster.device)
    else:
        torch.set_num_threads(max(1, available_cores() // cluster.machine_processes))
        tune_cpu_allocator()
    if cluster.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if cluster.device.type == "cuda" else "gloo")


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def local_processes(hosts: int) -> int:
    """How many processes roost's launcher starts for `hosts` hosts on this machine: one per GPU
    (a whole number per host), else one per host."""
    gpus = torch.cuda.device_count()
    return max(hosts, gpus - gpus % hosts) if gpus else hosts
