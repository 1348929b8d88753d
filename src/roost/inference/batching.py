"""One thread runs the network; requests that arrive while it is busy are batched into its next pass.

Policy: no waiting for a batch to fill. The worker takes whatever is queued (up to `max_batch`) the moment
it is free, so a lone request is answered at single-image latency, and under load the batch grows by
itself to the number of requests waiting. The asyncio event loop never runs torch, so `/ping` answers
while a batch is on the CPU (or device).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_STOP = None


@dataclass
class _Request:
    image: np.ndarray
    future: asyncio.Future[np.ndarray]


def _resolve(
    future: asyncio.Future[np.ndarray], result: np.ndarray | None, error: BaseException | None
) -> None:
    if future.done():  # the client went away and its request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class BatchingWorker:
    """`await worker.predict(image)` from any event loop; `predict_batch` runs on the worker thread."""

    def __init__(self, predict_batch: Callable[[np.ndarray], np.ndarray], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._predict_batch = predict_batch
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="roost-predict", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    async def predict(self, image: np.ndarray) -> np.ndarray:
        """Probabilities for one prepared HxWxC image."""
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.put(_Request(image, future))
        return await future

    def _take_batch(self) -> tuple[list[_Request], bool]:
        """Block for one request, then add those already waiting; and whether to stop afterwards."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is _STOP:
                return batch, True
            batch.append(more)
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._take_batch()
            if not batch:
                continue
            try:
                results = self._predict_batch(np.stack([request.image for request in batch]))
            except Exception as error:  # each waiting request answers it (HTTP 500)
                for request in batch:
                    loop = request.future.get_loop()
                    loop.call_soon_threadsafe(_resolve, request.future, None, error)
                continue
            for request, result in zip(batch, results, strict=True):
                loop = request.future.get_loop()
                loop.call_soon_threadsafe(_resolve, request.future, result, None)
