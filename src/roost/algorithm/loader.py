"""Batches for training and validation: a PyTorch DataLoader whose worker processes decode and augment.

An epoch is exactly floor(num_training_samples / global batch) batches (docs/algorithm.md §5.6), drawn from
fresh shuffles of the real samples, wrapping around as MXNet's ResizeIter does. Each of several processes
(ranks) takes its slice of every global batch. Batches travel as uint8 NHWC, four times smaller than
floats; the training process turns them into float NCHW (channels-last) on the device.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from roost.algorithm.augmentation import Augmentation, transform
from roost.algorithm.samples import SampleIndex, Source
from roost.formats.image import DecodeError, decode
from roost.formats.recordio import RecordIOError, RecordReader, unpack
from roost.machine import available_cores

Key = tuple[int, int]  # (sample, epoch): the epoch seeds the sample's augmentation draws
# What makes one image unreadable (skipped with a warning), as opposed to an error that ends the job.
UNREADABLE = (DecodeError, RecordIOError, OSError)


class ImageSamples(Dataset):
    """Sample key → (HxWxC uint8 image or None when unreadable, label, sample)."""

    def __init__(
        self,
        index: SampleIndex,
        image_shape: tuple[int, int, int],
        resize: int | None,
        augmentation: Augmentation,
        seed: int,
    ) -> None:
        self.index = index
        self.channels, self.height, self.width = image_shape
        self.resize = resize
        self.augmentation = augmentation
        self.seed = seed
        self._readers: dict[int, RecordReader] = {}

    def __len__(self) -> int:
        return len(self.index)

    def _bytes(self, i: int) -> bytes:
        file = int(self.index.file_of[i])
        source = self.index.sources[file]
        if source == Source.FILE:
            with open(self.index.files[file], "rb") as image_file:
                return image_file.read()
        reader = self._readers.get(file)
        if reader is None:
            reader = self._readers[file] = RecordReader(self.index.files[file], index=False)
        record = reader.read_at(int(self.index.offset_of[i]))
        return unpack(record)[1] if source == Source.RECORD else record

    def _image(self, i: int, epoch: int) -> np.ndarray:
        image = decode(self._bytes(i), self.channels)
        rng = np.random.default_rng((self.seed, epoch, i))
        return transform(image, self.height, self.width, self.resize, self.augmentation, rng)

    def __getitem__(self, key: Key) -> tuple[np.ndarray | None, np.ndarray, int]:
        i, epoch = key
        try:
            return self._image(i, epoch), self.index.labels[i], i
        except UNREADABLE:
            return None, self.index.labels[i], i

    def problem(self, i: int) -> str:
        """Why sample `i` is unreadable, read again here: workers hand over only that it is."""
        try:
            self._image(i, 0)
        except UNREADABLE as error:
            return f"{self.index.describe(i)}: {error}"
        return f"{self.index.describe(i)}: unreadable at times (a file that changes during training?)"

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_readers"] = {}
        return state


@dataclass
class Batch:
    images: torch.Tensor  # uint8 N x H x W x C
    labels: torch.Tensor  # float32 N (class ids) or N x K (multi-hot)
    unreadable: list[int]  # samples dropped from this batch because they did not decode


def collate(items: list[tuple[np.ndarray | None, np.ndarray, int]]) -> Batch:
    kept = [(image, label) for image, label, _ in items if image is not None]
    unreadable = [i for image, _, i in items if image is None]
    if not kept:
        return Batch(torch.empty(0, dtype=torch.uint8), torch.empty(0), unreadable)
    images = torch.from_numpy(np.stack([image for image, _ in kept]))
    labels = torch.from_numpy(np.stack([np.asarray(label, dtype=np.float32) for _, label in kept]))
    return Batch(images, labels, unreadable)


class TrainingBatches(Sampler[list[Key]]):
    """This rank's share of each epoch's global batches; call `set_epoch` before iterating."""

    def __init__(
        self, samples: int, batches: int, global_batch: int, rank: int, world: int, seed: int
    ) -> None:
        self.samples = samples
        self.batches = batches
        self.global_batch = global_batch
        self.rank = rank
        self.world = world
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def _stream(self) -> Iterator[int]:
        shuffle = 0
        while True:
            order = np.random.default_rng((self.seed, self.epoch, shuffle)).permutation(self.samples)
            yield from order.tolist()
            shuffle += 1

    def __iter__(self) -> Iterator[list[Key]]:
        stream = self._stream()
        # Split as evenly as the sizes allow: a batch of 10 over 4 processes is 2, 3, 2, 3.
        start = self.global_batch * self.rank // self.world
        end = self.global_batch * (self.rank + 1) // self.world
        for _ in range(self.batches):
            batch = [next(stream) for _ in range(self.global_batch)]
            yield [(i, self.epoch) for i in batch[start:end]]


class ValidationBatches(Sampler[list[Key]]):
    """Every validation sample once, in order, this rank taking every world-th one."""

    def __init__(self, samples: int, batch: int, rank: int, world: int) -> None:
        self.mine = list(range(rank, samples, world))
        self.batch = batch

    def __len__(self) -> int:
        return (len(self.mine) + self.batch - 1) // self.batch

    def __iter__(self) -> Iterator[list[Key]]:
        for start in range(0, len(self.mine), self.batch):
            yield [(i, 0) for i in self.mine[start : start + self.batch]]


def _quiet_worker(_: int) -> None:
    # Each worker is one of many processes: one thread each, or they fight the training process; and a
    # lower priority, so that decoding fills the cores' idle moments instead of stalling the training
    # threads (which wait for each other at every operation's end).
    torch.set_num_threads(1)
    os.nice(10)
    # StopTrainingJob signals the job's whole process group: the training process stops after its
    # batch and then ends its workers; a worker dying first would turn the stop into a crash.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def loader_workers(ranks_on_this_machine: int, on_gpu: bool) -> int:
    """Decoding processes per rank: a share of the cores on GPU; on CPU one, as compute needs the rest."""
    cores = available_cores()
    if not on_gpu:
        return 1 if cores > 1 else 0
    return max(1, min(8, cores // ranks_on_this_machine - 1))


def make_loader(dataset: ImageSamples, batches: Sampler[list[Key]], workers: int, pin: bool) -> DataLoader:
    if workers:
        # OpenCV's thread pool does not survive fork (a forked worker blocks on it): shut it down here,
        # in the parent, so workers start without one. They decode one image at a time anyway.
        cv2.setNumThreads(1)
    return DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=pin,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        worker_init_fn=_quiet_worker if workers > 0 else None,
    )
