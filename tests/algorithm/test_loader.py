"""Batches: floor(N/B) per epoch, fresh shuffles that wrap around, rank slices, unreadable images dropped."""

from collections import Counter

import numpy as np
import torch
from tiny_jobs import make_job

from roost.algorithm.augmentation import Augmentation
from roost.algorithm.channel import resolve_channel
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.loader import ImageSamples, TrainingBatches, ValidationBatches, collate, make_loader
from roost.algorithm.samples import index_channel


def test_an_epoch_is_floor_n_over_b_batches_of_distinct_samples():
    batches = TrainingBatches(samples=84, batches=84 // 5, global_batch=5, rank=0, world=1, seed=3)
    batches.set_epoch(0)
    epoch = list(batches)
    assert len(epoch) == len(batches) == 16 and all(len(b) == 5 for b in epoch)
    drawn = [i for b in epoch for i, _ in b]
    assert len(set(drawn)) == 80 and all(e == 0 for b in epoch for _, e in b)
    batches.set_epoch(1)
    assert [i for b in batches for i, _ in b] != drawn
    batches.set_epoch(0)
    assert [i for b in batches for i, _ in b] == drawn


def test_more_batches_than_samples_wrap_around_with_fresh_shuffles():
    batches = TrainingBatches(samples=10, batches=7, global_batch=4, rank=0, world=1, seed=0)
    counts = Counter(i for b in batches for i, _ in b)
    assert sum(counts.values()) == 28 and set(counts) == set(range(10))
    assert set(counts.values()) <= {2, 3}


def test_ranks_split_each_global_batch():
    def run(rank):
        batches = TrainingBatches(samples=50, batches=6, global_batch=8, rank=rank, world=4, seed=1)
        return [[i for i, _ in b] for b in batches]

    per_rank = [run(r) for r in range(4)]
    whole = TrainingBatches(samples=50, batches=6, global_batch=8, rank=0, world=1, seed=1)
    for step, batch in enumerate(whole):
        assert [i for r in range(4) for i in per_rank[r][step]] == [i for i, _ in batch]


def test_an_uneven_batch_is_split_as_evenly_as_it_can_be():
    sizes = [len(next(iter(TrainingBatches(40, 2, 10, rank, 4, seed=0)))) for rank in range(4)]
    assert sizes == [2, 3, 2, 3]


def test_validation_covers_every_sample_once_across_ranks():
    seen = [i for r in range(3) for b in ValidationBatches(20, 4, r, 3) for i, _ in b]
    assert sorted(seen) == list(range(20))


def test_dataset_yields_cropped_rgb_and_drops_unreadable(tmp_path):
    root = make_job(tmp_path, {}, train=[0, 1, 2, 3], validation=[0])
    job = JobDirectory(root)
    index = index_channel(resolve_channel(job, "train", job.channels()["train"]), 4, False)
    index.offset_of[2] = index.offset_of[1] + 4  # points inside a record: unreadable
    dataset = ImageSamples(index, (3, 28, 28), 32, Augmentation.for_training("crop"), seed=0)
    image, label, _ = dataset[(0, 0)]
    assert image.shape == (28, 28, 3) and image.dtype == np.uint8 and label == 0
    assert dataset[(2, 0)][0] is None
    batch = collate([dataset[(i, 0)] for i in range(4)])
    assert batch.images.shape == (3, 28, 28, 3) and batch.unreadable == [2]
    assert batch.labels.tolist() == [0.0, 1.0, 3.0]
    assert np.array_equal(dataset[(3, 5)][0], dataset[(3, 5)][0])


def test_worker_processes_give_the_same_batches(tmp_path):
    root = make_job(tmp_path, {}, train=[i % 4 for i in range(24)], validation=[0])
    job = JobDirectory(root)
    index = index_channel(resolve_channel(job, "train", job.channels()["train"]), 4, False)
    dataset = ImageSamples(index, (3, 28, 28), 32, Augmentation.for_training("crop_color_transform"), seed=5)

    def epoch(workers):
        batches = TrainingBatches(24, 3, 8, 0, 1, seed=5)
        return [
            (b.images.clone(), b.labels.clone()) for b in make_loader(dataset, batches, workers, pin=False)
        ]

    inline, parallel = epoch(0), epoch(2)
    assert len(inline) == 3
    for (a, la), (b, lb) in zip(inline, parallel, strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)
