"""The training loop, top to bottom: data → network → optimiser → epochs → model directory.

`train` runs in every process of a job and reads as the recipe does: index the channels, build the
loaders and the network, resume, then for every epoch `train_epoch`, `validate` and `end_epoch`. Every
process computes; only the leader (rank 0) logs (`TrainingLog`) and writes files. What it logs, and
when, follows SageMaker's Image Classification line for line (docs/algorithm.md §5.5-5.7).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer
from torch.utils.data import DataLoader

from roost.algorithm import resume
from roost.algorithm.accuracy import Accuracy
from roost.algorithm.augmentation import Augmentation
from roost.algorithm.channel import resolve_channel
from roost.algorithm.cluster import Cluster
from roost.algorithm.hyperparameters import Hyperparameters
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.loader import (
    Batch,
    ImageSamples,
    TrainingBatches,
    ValidationBatches,
    loader_workers,
    make_loader,
)
from roost.algorithm.lr_schedule import MultiFactorSchedule, epoch_size
from roost.algorithm.model_artifact import ModelWriter
from roost.algorithm.model_selection import Outcome, Selection, after_validation
from roost.algorithm.network import ResNet, build_network, initialize, network_input
from roost.algorithm.optimizers import build_optimizer
from roost.algorithm.precision import Precision, bfloat16_speedup, choose_precision
from roost.algorithm.sagemaker_log import TrainingLog
from roost.algorithm.samples import SampleIndex, index_channel
from roost.algorithm.starting_weights import load_starting_weights
from roost.errors import UserError

BATCH_LOG_PERIOD = 20
STOP_CHECK_PERIOD = 10
# Below this share of decodable images an epoch is refused: the data is broken, not a few photos.
MIN_DECODED_SHARE = 0.5
# A float32 job on a bfloat16 CPU hints at precision_dtype=float16 only when that would clearly pay.
MIN_HINTED_SPEEDUP = 1.2


class StopRequested(Exception):
    """StopTrainingJob (SIGTERM) arrived; the job ends after the current batch."""


@dataclass(frozen=True)
class EpochResult:
    accuracy: float
    top_k_accuracy: float | None  # None without top_k
    time_cost: float


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

    def record(
        self, epoch: int, trained: EpochResult, validation_accuracy: float, learning_rate: float
    ) -> None:
        self.history.append(
            {
                "epoch": epoch,
                "train_accuracy": trained.accuracy,
                "train_top_k_accuracy": trained.top_k_accuracy,
                "validation_accuracy": validation_accuracy,
                "time_cost": trained.time_cost,
                "learning_rate": learning_rate,
            }
        )
        self.next_epoch = epoch + 1


@dataclass
class Session:
    """What every epoch works with, fixed for the whole job."""

    hp: Hyperparameters
    cluster: Cluster
    model: ResNet
    net: nn.Module  # the model, wrapped by DistributedDataParallel when there are several processes
    optimizer: Optimizer
    schedule: MultiFactorSchedule
    precision: Precision
    scaler: torch.amp.GradScaler
    class_weights: torch.Tensor | None
    global_batch: int
    say: TrainingLog
    stop_flag: list[bool]


def train(job: JobDirectory, hp: Hyperparameters, cluster: Cluster, stop_flag: list[bool], seed: int) -> None:
    torch.manual_seed(seed)
    say = TrainingLog(cluster.leader)
    train_index, val_index = _index(job, "train", hp), _index(job, "validation", hp)
    global_batch = _global_batch(hp, cluster, train_index, say)
    train_batches, train_loader, val_loader = _loaders(
        hp, cluster, train_index, val_index, global_batch, seed
    )

    model = _network(job, hp, cluster.device, seed)
    optimizer = _optimizer(hp, model)
    precision = choose_precision(hp.precision_dtype, cluster.device)
    say.arithmetic(precision)
    if precision.bfloat16_native and cluster.leader and (speedup := bfloat16_speedup()) >= MIN_HINTED_SPEEDUP:
        say.bfloat16_hint(speedup)
    scaler = torch.amp.GradScaler("cuda", enabled=precision.scaled)
    progress = _resume(job, hp, model, optimizer, scaler, say)
    session = Session(
        hp=hp, cluster=cluster, model=model, net=_parallel(model, cluster), optimizer=optimizer,
        schedule=_schedule(hp, cluster), precision=precision, scaler=scaler, global_batch=global_batch,
        class_weights=_class_weights(train_index, hp, cluster.device), say=say, stop_flag=stop_flag,
    )  # fmt: skip
    artifacts = ModelWriter(job.model, model, hp, train_index.class_names)
    train_metric = Accuracy(cluster.device, hp.top_k, bool(hp.multi_label))
    val_metric = Accuracy(cluster.device, None, bool(hp.multi_label))

    for epoch in range(progress.next_epoch, hp.epochs):
        train_batches.set_epoch(epoch)
        trained = train_epoch(session, train_loader, train_metric, epoch, progress)
        val_accuracy = validate(session, val_loader, val_metric, epoch)
        outcome = after_validation(progress.selection, hp, epoch, val_accuracy)
        progress.record(epoch, trained, val_accuracy, optimizer.param_groups[0]["lr"])
        end_epoch(session, job, artifacts, progress, outcome, epoch, val_accuracy)
        if outcome.stop:
            break
        if cluster.distributed:
            dist.barrier()


def train_epoch(
    session: Session, loader: DataLoader, metric: Accuracy, epoch: int, progress: Progress
) -> EpochResult:
    """One epoch of training: exactly the sampler's batches, logged every BATCH_LOG_PERIOD of them."""
    session.net.train()
    metric.reset()
    decoded = Decoded()
    tic = last = time.time()
    for nbatch, batch in enumerate(loader):
        decoded.count(batch)
        if len(batch.images):
            _step(session, batch.images, batch.labels, metric, progress)
        if _stop_requested(session.stop_flag, session.cluster, nbatch):
            raise StopRequested
        if nbatch == 0:
            last = time.time()
        elif nbatch % BATCH_LOG_PERIOD == 0:
            accuracy = metric.values(across_ranks=True)[0]
            now = time.time()
            speed = BATCH_LOG_PERIOD * session.global_batch / max(now - last, 1e-9)
            session.say.batch(epoch, nbatch, speed, accuracy)
            last = now
    accuracy, top_k_accuracy = metric.values(across_ranks=True)
    elapsed = time.time() - tic
    decoded.check(session, loader, epoch, "training")
    session.say.training_epoch(epoch, accuracy, metric.top_k, top_k_accuracy, elapsed)
    return EpochResult(accuracy, top_k_accuracy if metric.top_k else None, elapsed)


def _step(
    session: Session, images: torch.Tensor, labels: torch.Tensor, metric: Accuracy, progress: Progress
) -> None:
    """One optimiser update on one batch, at the schedule's rate for that update."""
    update = progress.num_update + 1
    for group in session.optimizer.param_groups:
        group["lr"] = session.schedule.lr(update)
    if change := session.schedule.change_message(update):
        session.say.learning_rate_change(change)
    inputs = network_input(images, session.cluster.device)
    labels = labels.to(session.cluster.device, non_blocking=True)
    # The last step's gradients go before the forward pass, so they never share memory with its activations.
    session.optimizer.zero_grad(set_to_none=True)
    with session.precision.autocast():
        logits = session.net(inputs)
    loss = _loss(logits, labels, session.hp, session.class_weights)
    session.scaler.scale(loss).backward()
    session.scaler.step(session.optimizer)
    session.scaler.update()
    progress.num_update = update
    metric.update(logits.detach(), labels)


def validate(session: Session, loader: DataLoader, metric: Accuracy, epoch: int) -> float:
    """Accuracy over every validation image once, centre-cropped, across all processes."""
    session.net.eval()
    metric.reset()
    decoded = Decoded()
    with torch.no_grad(), session.precision.autocast():
        for batch in loader:
            decoded.count(batch)
            if len(batch.images):
                logits = session.net(network_input(batch.images, session.cluster.device)).float()
                metric.update(logits, batch.labels.to(session.cluster.device, non_blocking=True))
    decoded.check(session, loader, epoch, "validation")
    return metric.values(across_ranks=True)[0]


def end_epoch(
    session: Session,
    job: JobDirectory,
    artifacts: ModelWriter,
    progress: Progress,
    outcome: Outcome,
    epoch: int,
    val_accuracy: float,
) -> None:
    """Log the validation, keep the model the selection asks for, and save what a resume needs."""
    say = session.say
    say.validation(epoch, val_accuracy)
    if outcome.store_best:
        say.storing_best(val_accuracy)
    if session.cluster.leader:  # one process writes the job's files
        if outcome.store_best or outcome.save_periodic:
            say.saved(artifacts.save(epoch + 1, keep_earlier=outcome.save_periodic))
        elif outcome.stop and not artifacts.saved:
            # Stopped before the first periodic checkpoint: the job still leaves a model.
            say.saved(artifacts.save(epoch + 1, keep_earlier=True))
        artifacts.write_metrics(progress.history)
        scaler = session.scaler if session.precision.scaled else None
        resume.save(job.checkpoints, session.hp, session.model, session.optimizer, scaler, asdict(progress))
    if outcome.stop:
        hp = session.hp
        without = progress.selection.epochs_without_improvement
        say.early_stop(hp.early_stopping_tolerance, without, epoch, progress.selection.best_accuracy)


# -- the pieces train() is built from ----------------------------------------------------------------------


def _index(job: JobDirectory, name: str, hp: Hyperparameters) -> SampleIndex:
    channel = resolve_channel(job, name, job.channels().get(name))
    return index_channel(channel, hp.num_classes, bool(hp.multi_label))


def _global_batch(hp: Hyperparameters, cluster: Cluster, index: SampleIndex, say: TrainingLog) -> int:
    """mini_batch_size x hosts, checked against the samples and the processes it is split over."""
    real = len(index)
    if index.skipped and real < MIN_DECODED_SHARE * hp.num_training_samples:
        raise UserError(
            f"ClientError: only {real} images of the 'train' channel are readable, under "
            f"{MIN_DECODED_SHARE:.0%} of num_training_samples={hp.num_training_samples}; the first damage: "
            f"{index.skipped[0]}"
        )
    if min(real, hp.num_training_samples) < hp.mini_batch_size:
        raise UserError(
            "ClientError: The number of input images must be bigger or equal to the mini_batch_size."
        )
    if real != hp.num_training_samples:
        say.sample_count_differs(hp.num_training_samples, real)
    global_batch = hp.mini_batch_size * cluster.hosts
    if hp.num_training_samples // global_batch < 1:
        raise UserError(
            f"ClientError: num_training_samples={hp.num_training_samples} is smaller than mini_batch_size x "
            f"hosts = {global_batch}: not one batch per epoch"
        )
    if global_batch < cluster.world:
        raise UserError(
            f"ClientError: mini_batch_size={hp.mini_batch_size} cannot be split over {cluster.world} devices"
        )
    return global_batch


def _loaders(
    hp: Hyperparameters,
    cluster: Cluster,
    train_index: SampleIndex,
    val_index: SampleIndex,
    global_batch: int,
    seed: int,
) -> tuple[TrainingBatches, DataLoader, DataLoader]:
    """(the training sampler, whose epoch the loop sets; the training loader; the validation loader)"""
    on_gpu = cluster.device.type == "cuda"
    workers = loader_workers(cluster.machine_processes, on_gpu)
    batches = hp.num_training_samples // global_batch
    train_batches = TrainingBatches(
        len(train_index), batches, global_batch, cluster.rank, cluster.world, seed
    )
    per_rank_batch = max(1, global_batch // cluster.world)
    val_batches = ValidationBatches(len(val_index), per_rank_batch, cluster.rank, cluster.world)
    training = ImageSamples(
        train_index, hp.image_shape, hp.resize, Augmentation.for_training(hp.augmentation_type), seed
    )
    validation = ImageSamples(val_index, hp.image_shape, hp.resize, Augmentation(), seed)
    train_loader = make_loader(training, train_batches, workers, pin=on_gpu)
    val_loader = make_loader(validation, val_batches, workers, pin=on_gpu)
    if workers:
        # Start both loaders' (persistent) workers now, while this process is small. The validation
        # worker would otherwise be forked after epoch 0 from a process holding gigabytes of
        # activations, and every page training then wrote would be copied on write: 18-30 s more in the
        # second epoch of each job. (This costs a few batches decoded ahead and dropped at the first epoch.)
        iter(train_loader)
        iter(val_loader)
    return train_batches, train_loader, val_loader


def _network(job: JobDirectory, hp: Hyperparameters, device: torch.device, seed: int) -> ResNet:
    model = build_network(hp.num_layers, hp.num_classes, hp.image_shape)
    initialize(model, torch.Generator().manual_seed(seed))
    load_starting_weights(job, hp, model)
    return model.to(device=device, memory_format=torch.channels_last)


def _optimizer(hp: Hyperparameters, model: ResNet) -> Optimizer:
    return build_optimizer(
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


def _schedule(hp: Hyperparameters, cluster: Cluster) -> MultiFactorSchedule:
    return MultiFactorSchedule.for_epochs(
        hp.learning_rate,
        hp.lr_scheduler_step,
        hp.lr_scheduler_factor,
        epoch_size(hp.num_training_samples, hp.mini_batch_size, cluster.hosts),
    )


def _resume(
    job: JobDirectory,
    hp: Hyperparameters,
    model: ResNet,
    optimizer: Optimizer,
    scaler: torch.amp.GradScaler,
    say: TrainingLog,
) -> Progress:
    """The progress saved by an earlier run of this job, its weights and optimiser state loaded."""
    state = resume.load(job.checkpoints, hp)
    if state is None:
        return Progress()
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    if scaler.is_enabled() and state.scaler:
        scaler.load_state_dict(state.scaler)
    progress = Progress.restore(state.progress)
    say.resuming(progress.next_epoch - 1, job.checkpoints)
    return progress


def _parallel(model: ResNet, cluster: Cluster) -> nn.Module:
    if not cluster.distributed:
        return model
    return DistributedDataParallel(
        model, device_ids=[cluster.device] if cluster.device.type == "cuda" else None
    )


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


@dataclass
class Decoded:
    """How many images one pass over a channel drew, and which did not decode."""

    seen: int = 0
    unreadable: int = 0
    first_unreadable: int | None = None

    def count(self, batch: Batch) -> None:
        self.seen += len(batch.images) + len(batch.unreadable)
        self.unreadable += len(batch.unreadable)
        if self.first_unreadable is None and batch.unreadable:
            self.first_unreadable = batch.unreadable[0]

    def check(self, session: Session, loader: DataLoader, epoch: int, purpose: str) -> None:
        """Warn of the images skipped; a ClientError when most did not decode: the pass trained (or
        measured) nothing real. All processes decide on the sums of their counts, so they fail together,
        not one waiting for the others at the next collective call."""
        seen, unreadable = self.seen, self.unreadable
        cluster = session.cluster
        if cluster.distributed:
            counts = torch.tensor([seen, unreadable], dtype=torch.float64, device=cluster.device)
            dist.all_reduce(counts)
            seen, unreadable = (int(n) for n in counts.tolist())
        first = None
        if self.first_unreadable is not None:
            dataset: ImageSamples = loader.dataset  # type: ignore[assignment]
            first = dataset.problem(self.first_unreadable)
        session.say.skipped(epoch, purpose, unreadable, first)
        if seen and seen - unreadable >= MIN_DECODED_SHARE * seen:
            return
        raise UserError(
            f"ClientError: only {seen - unreadable} of the {seen} {purpose} images read in epoch {epoch} "
            f"decoded (at least {MIN_DECODED_SHARE:.0%} must): the data is damaged or not images; check it "
            f"with `roost inspect` and re-create it. The first that did not: {first}"
        )
