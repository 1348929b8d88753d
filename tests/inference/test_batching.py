"""The batching worker: requests waiting while the network runs share its next pass, answers go back right."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from roost.inference.batching import BatchingWorker


class SlowModel:
    """Returns each image's first pixel as its 'probabilities'; holds its first pass until released."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []
        self.release = threading.Event()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(images))
        self.release.wait(timeout=10)
        return images[:, 0, 0, :].astype(np.float32)


def image(value: int) -> np.ndarray:
    return np.full((4, 4, 2), value, np.uint8)


async def _predict_many(worker: BatchingWorker, model: SlowModel, count: int) -> list[np.ndarray]:
    first = asyncio.ensure_future(worker.predict(image(0)))
    while not model.batch_sizes:  # the first request is on the "device"
        await asyncio.sleep(0.001)
    rest = [asyncio.ensure_future(worker.predict(image(i))) for i in range(1, count)]
    await asyncio.sleep(0.05)  # all of them queued behind the running pass
    model.release.set()
    return await asyncio.gather(first, *rest)


def test_requests_that_wait_share_a_pass_and_get_their_own_answers():
    model = SlowModel()
    worker = BatchingWorker(model, max_batch=8)
    worker.start()
    try:
        results = asyncio.run(_predict_many(worker, model, 20))
    finally:
        worker.stop()
    assert [int(r[0]) for r in results] == list(range(20))
    assert model.batch_sizes == [1, 8, 8, 3]


def test_max_batch_one_turns_batching_off():
    model = SlowModel()
    worker = BatchingWorker(model, max_batch=1)
    worker.start()
    try:
        asyncio.run(_predict_many(worker, model, 5))
    finally:
        worker.stop()
    assert model.batch_sizes == [1] * 5


def test_a_failing_pass_fails_its_requests_and_the_worker_goes_on():
    calls = []

    def flaky(images: np.ndarray) -> np.ndarray:
        calls.append(len(images))
        if len(calls) == 1:
            raise RuntimeError("device lost")
        return np.zeros((len(images), 3), np.float32)

    async def scenario() -> np.ndarray:
        with pytest.raises(RuntimeError, match="device lost"):
            await worker.predict(image(1))
        return await worker.predict(image(2))

    worker = BatchingWorker(flaky, max_batch=4)
    worker.start()
    try:
        assert asyncio.run(scenario()).shape == (3,)
    finally:
        worker.stop()


def test_a_cancelled_request_does_not_break_the_others():
    model = SlowModel()
    worker = BatchingWorker(model, max_batch=4)
    worker.start()

    async def scenario() -> list[np.ndarray]:
        first = asyncio.ensure_future(worker.predict(image(0)))
        while not model.batch_sizes:
            await asyncio.sleep(0.001)
        gone = asyncio.ensure_future(worker.predict(image(1)))
        kept = asyncio.ensure_future(worker.predict(image(2)))
        await asyncio.sleep(0.01)
        gone.cancel()  # the client hung up
        model.release.set()
        return await asyncio.gather(first, kept)

    try:
        results = asyncio.run(scenario())
    finally:
        worker.stop()
    assert [int(r[0]) for r in results] == [0, 2]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        BatchingWorker(lambda images: images, max_batch=0)
