"""The algorithm's log: SageMaker's line format, so the same filters and metric regexes work
(docs/algorithm.md §5.5).

`[11/26/2026 07:40:00 INFO 140558353856320] Epoch[0] Validation-accuracy=0.500000`; errors add the source
location as SageMaker's do: `[... ERROR 1403 train.py:48] message`.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

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
    """Flushes every line: the platform captures the log line by line as it is printed."""

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        self.flush()


def setup_logging(stream: TextIO | None = None, quiet: bool = False) -> logging.Logger:
    """The algorithm's logger writing to `stream` (stdout); `quiet` ranks only log warnings."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = _FlushingHandler(stream or sys.stdout)
    handler.setFormatter(SageMakerFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    return logger
