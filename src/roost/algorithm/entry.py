"""`roost algorithm train --ml-dir DIR`: the algorithm's whole contract with whatever runs it.

Reads the job directory, logs as SageMaker's container does, trains, and ends with exit code 0, or
non-zero with the reason in `output/failure`. SIGTERM (StopTrainingJob) stops after the current batch
and keeps the best model so far. Several GPUs, or several hosts in resourceconfig.json, start one
process each here; under `torchrun` each process is already one rank.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import torch

from roost.algorithm import cluster as clusters
from roost.algorithm.hyperparameters import Hyperparameters, parse_hyperparameters, summary_lines
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.sagemaker_log import setup_logging
from roost.algorithm.training import StopRequested, train
from roost.errors import UserError
from roost.machine import available_cores

STOPPED_EXIT = 143  # 128 + SIGTERM, as a process ended by it


def _defaults() -> dict[str, object]:
    def shown(value: object) -> object:
        return ",".join(map(str, value)) if isinstance(value, tuple) else value

    return {
        name: shown(field.default)
        for name, field in Hyperparameters.model_fields.items()
        if not field.is_required() and field.default is not None
    }


def _seed() -> int:
    try:
        return int(os.environ.get("ROOST_SEED", "0"))
    except ValueError:
        raise UserError(f"ROOST_SEED must be an integer, got {os.environ['ROOST_SEED']!r}") from None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_main(local_rank: int, ml_dir: str, processes: int, hosts: int, port: int) -> None:
    """One rank started by roost's own launcher (a spawned process)."""
    os.environ.update(
        RANK=str(local_rank),
        LOCAL_RANK=str(local_rank),
        WORLD_SIZE=str(processes),
        LOCAL_WORLD_SIZE=str(processes),
        ROOST_HOSTS=str(hosts),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        ROOST_LAUNCHED="1",
    )
    sys.exit(run(Path(ml_dir)))


def _launch(job: JobDirectory, processes: int, hosts: int, stop_flag: list[bool]) -> int:
    import torch.multiprocessing as mp

    log = logging.getLogger("roost.algorithm")
    log.info("Starting %d training processes (%d host(s), %s)", processes, hosts, _devices())
    context = mp.start_processes(
        _process_main,
        args=(str(job.root), processes, hosts, _free_port()),
        nprocs=processes,
        join=False,
        start_method="spawn",
    )
    forwarded = False
    while True:
        try:
            if context.join(timeout=1):
                return STOPPED_EXIT if stop_flag[0] else 0
        except mp.ProcessExitedException as error:
            if error.exit_code == STOPPED_EXIT:
                return STOPPED_EXIT
            if not job.failure_file.exists():
                job.write_failure(
                    f"AlgorithmError: a training process ended with exit code {error.exit_code}"
                )
            return 1
        except mp.ProcessRaisedException as error:
            job.write_failure(f"AlgorithmError: {str(error).strip().splitlines()[-1]}")
            return 1
        if stop_flag[0] and not forwarded:
            for process in context.processes:
                if process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
            forwarded = True


def _devices() -> str:
    gpus = torch.cuda.device_count()
    return f"{gpus} GPU(s): {torch.cuda.get_device_name(0)}" if gpus else f"CPU, {available_cores()} cores"


def run(ml_dir: Path) -> int:
    """Train in the job directory `ml_dir`; returns the process exit code."""
    job = JobDirectory(Path(ml_dir))
    cluster = clusters.from_environment()
    launched = os.environ.get("ROOST_LAUNCHED") == "1"
    log = setup_logging(quiet=cluster is not None and not cluster.leader)
    stop_flag = [False]

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_flag[0] = True

    signal.signal(signal.SIGTERM, request_stop)
    started = time.time()
    earlier_children = set(multiprocessing.active_children())
    try:
        raw = job.hyperparameters()
        if not launched and (cluster is None or cluster.leader):
            log.info("Reading default configuration from roost.algorithm.hyperparameters: %s", _defaults())
            log.info("Merging with provided configuration from %s: %s", job.hyperparameters_file, raw)
        hp = parse_hyperparameters(raw)
        if not launched and (cluster is None or cluster.leader):
            final = {**_defaults(), **{k: v for k, v in raw.items() if not k.startswith("_")}}
            log.info("Final configuration: %s", final)
            for line in summary_lines(hp):
                log.info(line)
        if cluster is None:
            _, hosts = job.hosts()
            processes = clusters.local_processes(len(hosts))
            if processes > 1:
                return _launch(job, processes, len(hosts), stop_flag)
            cluster = clusters.single_process()
        clusters.join(cluster)
        if cluster.leader and not launched:
            log.info("Setting number of threads: %d", torch.get_num_threads())
            log.info("Training on %s", _devices())
        train(job, hp, cluster, stop_flag, _seed())
        if cluster.leader:
            log.info("Training finished in %.1f s", time.time() - started)
        return 0
    except StopRequested:
        if cluster is None or cluster.leader:
            log.info("Stop requested: training ended early; the model folder keeps the best model so far")
        return STOPPED_EXIT
    except UserError as error:
        message = str(error)
        log.error(message)
        if cluster is None or cluster.leader:
            job.write_failure(message)
        return 1
    except Exception as error:
        log.exception("Unexpected error")
        if cluster is None or cluster.leader:
            # An error re-raised from a loader worker carries the worker's traceback; its last line says it.
            lines = str(error).strip().splitlines()
            reason = lines[-1] if len(lines) > 1 else f"{type(error).__name__}: {error}"
            job.write_failure(f"AlgorithmError: {reason}")
        return 1
    finally:
        clusters.leave()
        _end_loader_workers(set(multiprocessing.active_children()) - earlier_children)


def _end_loader_workers(workers: set[multiprocessing.process.BaseProcess]) -> None:
    """Kill the loader workers still alive when training has ended, however it ended.

    They ignore SIGTERM (see loader._quiet_worker), and one blocked on a full pipe after an error would
    make the interpreter's exit wait for it forever; nothing of theirs is worth keeping by then.
    """
    for worker in workers:
        worker.kill()
        worker.join(timeout=5)
