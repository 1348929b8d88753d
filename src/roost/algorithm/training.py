"""The training loop, top to bottom: data → network → optimiser → epochs → model directory.

One function, `train`, runs in every process of a job; only the leader (rank 0) logs and writes files.
What it logs, and when, follows SageMaker's Image Classification line for line (docs/algorithm.md §5.5-5.7).
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from roost.algorithm import model_artifact, resume
from roost.algorithm.accuracy import Accuracy
from roost.algorithm.augmentation import Augmentation
from roost.algorithm.channel import resolve_channel
from roost.algorithm.cluster import Cluster
from roost.algorithm.hyperparameters import Hyperparameters
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.loader import (
    ImageSamples,
    TrainingBatches,
    ValidationBatches,
    loader_workers,
    make_loader,
)
from roost.algorithm.lr_schedule import MultiFactorSchedule, epoch_size
from roost.algorithm.model_selection import Selection, after_validation
from roost.algorithm.network import build_network, initialize
from roost.algorithm.optimizers import build_optimizer
from roost.algorithm.samples import SampleIndex, index_channel
from roost.algorithm.starting_weights import load_starting_weights
from roost.errors import UserError

log = logging.getLogger("roost.algorithm")

BATCH_LOG_PERIOD = 20
STOP_CHECK_PERIOD = 10


class StopRequested(Exception):
    """StopTrainingJob (SIGTERM) arrived; the job ends after the current batch."""


@dataclass
class Progress:
    """What survives an epoch, and a crash: saved to checkpoints/ after every epoch."""

    next_epoch: int = 0
    num_update: int = 0
    selection: Selection = field(default_factory=Selection)
    history: list[dict[str, float | int | None]] = field(default_factory=list)

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> Progress:
        return cls(**{**saved, "selection": Selection(**saved["selection"])})


def _index(job: JobDirectory, name: str, hp: Hyperparameters) -> SampleIndex:
    channel = resolve_channel(job, name, job.channels().get(name))
    return index_channel(channel, hp.num_classes, bool(hp.multi_label))


def _loss(
    logits: torch.Tensor, labels: torch.Tensor, hp: Hyperparameters, weights: torch.Tensor | None
) -> torch.Tensor:
    if hp.multi_label:
        return F.binary_cross_entropy_with_logits(logits.float(), labels, pos_weight=weights)
    return F.cross_entropy(logits.float(), labels.long())


def _class_weights(index: SampleIndex, hp: Hyperparameters, device: torch.device) -> torch.Tensor | None:
    """use_weighted_loss: up-weight rare positives by (negatives / positives) per class (BCE pos_weight)."""
    if not (hp.multi_label and hp.use_weighted_loss):
        return None
    positives = torch.as_tensor(index.labels.sum(axis=0), dtype=torch.float32).clamp(min=1.0)
    return ((len(index) - positives) / positives).clamp(min=1.0).to(device)


def _mixed_precision(
    hp: Hyperparameters, device: torch.device, leader: bool
) -> tuple[AbstractContextManager[object], bool]:
    """(autocast context, whether float16 gradients need scaling) for precision_dtype.

    float16 is mixed precision with float32 master weights (docs/algorithm.md §1.3): float16 autocast on a
    GPU; on a CPU, which has no fast float16, bfloat16 where the CPU computes it natively, else plain float32.
    """
    if hp.precision_dtype != "float16":
        return nullcontext(), False
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16), True
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        if leader:
            log.info("precision_dtype=float16 on a CPU: mixed precision in bfloat16, the CPU's half type")
        return torch.autocast("cpu", dtype=torch.bfloat16), False
    if leader:
        log.warning("precision_dtype=float16 needs a GPU or a CPU with bfloat16; training in float32")
    return nullcontext(), False


def _stop_requested(flag: list[bool], cluster: Cluster, nbatch: int) -> bool:
    """Whether any process was asked to stop. Several processes agree on it every STOP_CHECK_PERIOD
    batches (the same ones in each), so their collective calls stay in step without a sync per batch."""
    if not cluster.distributed:
        return flag[0]
    if nbatch % STOP_CHECK_PERIOD:
        return False
    wanted = torch.tensor([1.0 if flag[0] else 0.0], device=cluster.device)
    dist.all_reduce(wanted)
    return bool(wanted.item())


def train(job: JobDirectory, hp: Hyperparameters, cluster: Cluster, stop_flag: list[bool], seed: int) -> None:
    leader = cluster.leader
    device = cluster.device
    torch.manual_seed(seed)

    # -- data ------------------------------------------------------------------------------------------
    train_index = _index(job, "train", hp)
    val_index = _index(job, "validation", hp)
    real = len(train_index)
    if min(real, hp.num_training_samples) < hp.mini_batch_size:
        raise UserError(
            "ClientError: The number of input images must be bigger or equal to the mini_batch_size."
        )
    if real != hp.num_training_samples and leader:
        log.warning(
            "num_training_samples is %d but the train channel holds %d images: epochs and the learning-rate "
            "schedule follow num_training_samples",
            hp.num_training_samples,
            real,
        )
    global_batch = hp.mini_batch_size * cluster.hosts
    batches_per_epoch = hp.num_training_samples // global_batch
    if batches_per_epoch < 1:
        raise UserError(
            f"ClientError: num_training_samples={hp.num_training_samples} is smaller than mini_batch_size x "
            f"hosts = {global_batch}: not one batch per epoch"
        )
    if global_batch < cluster.world:
        raise UserError(
            f"ClientError: mini_batch_size={hp.mini_batch_size} cannot be split over {cluster.world} devices"
        )
    on_gpu = device.type == "cuda"
    workers = loader_workers(cluster.machine_processes, on_gpu)
    train_batches = TrainingBatches(real, batches_per_epoch, global_batch, cluster.rank, cluster.world, seed)
    train_loader = make_loader(
        ImageSamples(
            train_index, hp.image_shape, hp.resize, Augmentation.for_training(hp.augmentation_type), seed
        ),
        train_batches,
        workers,
        pin=on_gpu,
    )
    per_rank_batch = max(1, global_batch // cluster.world)
    val_loader = make_loader(
        ImageSamples(val_index, hp.image_shape, hp.resize, Augmentation(), seed),
        ValidationBatches(len(val_index), per_rank_batch, cluster.rank, cluster.world),
        workers,
        pin=on_gpu,
    )

    # -- network, optimiser, schedule --------------------------------------------------------------------
    generator = torch.Generator().manual_seed(seed)
    model = build_network(hp.num_layers, hp.num_classes, hp.image_shape)
    initialize(model, generator)
    load_starting_weights(job, hp, model)
    model = model.to(device=device, memory_format=torch.channels_last)
    optimizer = build_optimizer(
        hp.optimizer,
        model.named_parameters(),
        learning_rate=hp.learning_rate,
        momentum=hp.momentum,
        weight_decay=hp.weight_decay,
        beta_1=hp.beta_1,
        beta_2=hp.beta_2,
        eps=hp.eps,
        gamma=hp.gamma,
    )
    schedule = MultiFactorSchedule.for_epochs(
        hp.learning_rate,
        hp.lr_scheduler_step,
        hp.lr_scheduler_factor,
        epoch_size(hp.num_training_samples, hp.mini_batch_size, cluster.hosts),
    )
    autocast, scaled = _mixed_precision(hp, device, leader)
    scaler = torch.amp.GradScaler("cuda", enabled=scaled)
    weights = _class_weights(train_index, hp, device)

    progress = Progress()
    state = resume.load(job.checkpoints, hp)
    if state is not None:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        if scaled and state.scaler:
            scaler.load_state_dict(state.scaler)
        progress = Progress.restore(state.progress)
        if leader:
            log.info(
                "Resuming from the checkpoint of epoch %d in %s", progress.next_epoch - 1, job.checkpoints
            )
    net = (
        DistributedDataParallel(model, device_ids=[device] if on_gpu else None)
        if cluster.distributed
        else model
    )
    if leader:
        artifacts = model_artifact.ModelWriter(job.model, model, hp, train_index.class_names)

    train_metric = Accuracy(device, hp.top_k, bool(hp.multi_label))
    val_metric = Accuracy(device, None, bool(hp.multi_label))

    for epoch in range(progress.next_epoch, hp.epochs):
        # -- one epoch of training: exactly batches_per_epoch batches ------------------------------------
        net.train()
        train_metric.reset()
        train_batches.set_epoch(epoch)
        unreadable = 0
        tic = last = time.time()
        for nbatch, batch in enumerate(train_loader):
            unreadable += len(batch.unreadable)
            if len(batch.images):
                lr = schedule.lr(progress.num_update + 1)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                if leader and (change := schedule.change_message(progress.num_update + 1)):
                    log.info(change)
                images = batch.images.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
                labels = batch.labels.to(device, non_blocking=True)
                with autocast:
                    logits = net(images)
                loss = _loss(logits, labels, hp, weights)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                progress.num_update += 1
                train_metric.update(logits.detach(), labels)
            if _stop_requested(stop_flag, cluster, nbatch):
                raise StopRequested
            if nbatch == 0:
                last = time.time()
            elif nbatch % BATCH_LOG_PERIOD == 0:
                accuracy = train_metric.values(across_ranks=True)[0]
                now = time.time()
                if leader:
                    speed = BATCH_LOG_PERIOD * global_batch / max(now - last, 1e-9)
                    log.info(
                        "Epoch[%d] Batch [%d]\tSpeed: %.3f samples/sec\taccuracy=%f",
                        epoch,
                        nbatch,
                        speed,
                        accuracy,
                    )
                last = now
        accuracy, top_k_accuracy = train_metric.values(across_ranks=True)
        elapsed = time.time() - tic
        if leader:
            if unreadable:
                log.warning("Epoch[%d] skipped %d training images that did not decode", epoch, unreadable)
            log.info("Epoch[%d] Train-accuracy=%f", epoch, accuracy)
            if train_metric.top_k:
                log.info("Epoch[%d] Train-top_k_accuracy_%d=%f", epoch, train_metric.top_k, top_k_accuracy)
            log.info("Epoch[%d] Time cost=%.3f", epoch, elapsed)

        # -- validation: every image once, centre crop ------------------------------------------------------
        net.eval()
        val_metric.reset()
        with torch.no_grad(), autocast:
            for batch in val_loader:
                if len(batch.images):
                    images = batch.images.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
                    val_metric.update(net(images).float(), batch.labels.to(device, non_blocking=True))
        val_accuracy = val_metric.values(across_ranks=True)[0]

        # -- checkpoints, best model, early stopping ------------------------------------------------------
        outcome = after_validation(progress.selection, hp, epoch, val_accuracy)
        progress.history.append(
            {
                "epoch": epoch,
                "train_accuracy": accuracy,
                "train_top_k_accuracy": top_k_accuracy if train_metric.top_k else None,
                "validation_accuracy": val_accuracy,
                "time_cost": elapsed,
                "learning_rate": optimizer.param_groups[0]["lr"],
            }
        )
        progress.next_epoch = epoch + 1
        if leader:
            log.info("Epoch[%d] Validation-accuracy=%f", epoch, val_accuracy)
            if outcome.store_best:
                log.info("Storing the best model with validation accuracy: %f", val_accuracy)
            if outcome.store_best or outcome.save_periodic:
                saved = artifacts.save(epoch + 1, keep_earlier=outcome.save_periodic)
                log.info('Saved checkpoint to "%s"', saved)
            elif outcome.stop and not artifacts.saved:
                # Stopped before the first periodic checkpoint: the job still leaves a model.
                log.info('Saved checkpoint to "%s"', artifacts.save(epoch + 1, keep_earlier=True))
            artifacts.write_metrics(progress.history)
            resume.save(job.checkpoints, hp, model, optimizer, scaler if scaled else None, asdict(progress))
        if outcome.stop:
            if leader:
                log.info(
                    "Early stopping: no improvement of validation accuracy beyond the tolerance (%g) for %d "
                    "epochs; stopping after epoch %d. Best validation accuracy: %f",
                    hp.early_stopping_tolerance,
                    progress.selection.epochs_without_improvement,
                    epoch,
                    progress.selection.best_accuracy,
                )
            break
        if cluster.distributed:
            dist.barrier()
