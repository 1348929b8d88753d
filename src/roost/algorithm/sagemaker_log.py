"""The algorithm's log: SageMaker's line format, so the same filters and metric regexes work
(docs/algorithm.md §5.5).

`[11/26/2026 07:40:00 INFO 140558353856320] Epoch[0] Validation-accuracy=0.500000`; errors add the source
location as SageMaker's do: `[... ERROR 1403 train.py:48] message`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from roost.algorithm.precision import Precision

LOGGER = "roost.algorithm"


class SageMakerFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("[%(asctime)s %(levelname)s %(thread)d] %(message)s", datefmt="%m/%d/%Y %H:%M:%S")
        self._error = logging.Formatter(
            "[%(asctime)s %(levelname)s %(thread)d %(filename)s:%(lineno)d] %(message)s",
            datefmt="%m/%d/%Y %H:%M:%S",
        )

    def format(self, record: logging.LogRecord) -> str:
        return self._error.format(record) if record.levelno >= logging.ERROR else super().format(record)


class _FlushingHandler(logging.StreamHandler):
    """Flushes every line: the platform captures the log line by line as it is printed.

    Without a stream of its own it writes to whatever `sys.stdout` is when a line comes, not to the one
    it was set up with, which a caller (a test capturing output) may have closed since."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stdout)
        self._follows_stdout = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follows_stdout:
            self.stream = sys.stdout
        super().emit(record)
        self.flush()


def setup_logging(stream: TextIO | None = None, quiet: bool = False) -> logging.Logger:
    """The algorithm's logger writing to `stream` (stdout); `quiet` ranks only log warnings."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = _FlushingHandler(stream)
    handler.setFormatter(SageMakerFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    return logger


class TrainingLog:
    """Every line the training loop logs, in SageMaker's words; silent in every process but the leader's.

    The wording and order are those of SageMaker's container (docs/algorithm.md §5.5-5.7), so the
    console's and the SDK's metric regexes match them.
    """

    def __init__(self, leader: bool) -> None:
        self.leader = leader
        self._log = logging.getLogger(LOGGER)

    def _info(self, message: str, *args: object) -> None:
        if self.leader:
            self._log.info(message, *args)

    def _warning(self, message: str, *args: object) -> None:
        if self.leader:
            self._log.warning(message, *args)

    def sample_count_differs(self, declared: int, real: int) -> None:
        self._warning(
            "num_training_samples is %d but the train channel holds %d images: epochs and the learning-rate "
            "schedule follow num_training_samples",
            declared,
            real,
        )

    def arithmetic(self, precision: Precision) -> None:
        if precision.note:
            (self._warning if precision.fell_back else self._info)(precision.note)
        self._info(precision.description)

    def bfloat16_hint(self, speedup: float) -> None:
        self._info(
            "Hint: this CPU computes bfloat16 natively; its convolutions measured %.1fx faster in "
            "bfloat16 than in float32. precision_dtype=float16 trains in bfloat16 mixed precision "
            "with float32 weights",
            speedup,
        )

    def resuming(self, epoch: int, folder: Path) -> None:
        self._info("Resuming from the checkpoint of epoch %d in %s", epoch, folder)

    def learning_rate_change(self, message: str) -> None:
        self._info(message)

    def batch(self, epoch: int, nbatch: int, speed: float, accuracy: float) -> None:
        self._info(
            "Epoch[%d] Batch [%d]\tSpeed: %.3f samples/sec\taccuracy=%f", epoch, nbatch, speed, accuracy
        )

    def skipped(self, epoch: int, purpose: str, unreadable: int, first_problem: str | None) -> None:
        if unreadable:
            self._warning(
                "Epoch[%d] skipped %d %s images that did not decode; the first: %s",
                epoch,
                unreadable,
                purpose,
                first_problem,
            )

    def training_epoch(
        self, epoch: int, accuracy: float, top_k: int | None, top_k_accuracy: float, time: float
    ) -> None:
        self._info("Epoch[%d] Train-accuracy=%f", epoch, accuracy)
        if top_k:
            self._info("Epoch[%d] Train-top_k_accuracy_%d=%f", epoch, top_k, top_k_accuracy)
        self._info("Epoch[%d] Time cost=%.3f", epoch, time)

    def validation(self, epoch: int, accuracy: float) -> None:
        self._info("Epoch[%d] Validation-accuracy=%f", epoch, accuracy)

    def storing_best(self, accuracy: float) -> None:
        self._info("Storing the best model with validation accuracy: %f", accuracy)

    def saved(self, path: Path) -> None:
        self._info('Saved checkpoint to "%s"', path)

    def early_stop(self, tolerance: float, patience: int, epoch: int, best: float | None) -> None:
        self._info(
            "Early stopping: no improvement of validation accuracy beyond the tolerance (%g) for %d "
            "epochs; stopping after epoch %d. Best validation accuracy: %f",
            tolerance,
            patience,
            epoch,
            best,
        )
