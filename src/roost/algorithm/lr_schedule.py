"""The learning-rate schedule: MXNet's `MultiFactorScheduler` as SageMaker's recipe sets it up
(docs/algorithm.md §5.4).

`lr_scheduler_step="10, 20"` means: multiply the rate by `lr_scheduler_factor` after the 10th and after
the 20th epoch. MXNet counts optimizer updates, not epochs: update numbers start at 1, an epoch is
`num_training_samples // mini_batch_size` updates (÷ workers in distributed training), and the rate
drops for every update *greater than* `epoch_size * step`, i.e. from the first batch of the 0-based
epoch `step`. The schedule here is a pure function of the update number, so resuming from a
checkpoint needs no replayed state.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from roost.errors import UserError


def parse_epoch_steps(value: str | Sequence[int]) -> tuple[int, ...]:
    """`"10, 20"` (spaces tolerated) or a sequence of ints -> strictly increasing epochs, each >= 1."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        if not all(re.fullmatch(r"[+-]?[0-9]+", part) for part in parts):
            raise UserError(
                f"lr_scheduler_step {value!r} is not a comma-separated list of epoch numbers; "
                'write it like "10, 20"'
            )
        steps = tuple(int(part) for part in parts)
    else:
        steps = tuple(int(step) for step in value)
    if not steps:
        raise UserError('lr_scheduler_step is empty; give at least one epoch, like "10, 20"')
    if any(step < 1 for step in steps):
        raise UserError(f"lr_scheduler_step {_show(steps)} has an epoch below 1; epochs start at 1")
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        raise UserError(f'lr_scheduler_step {_show(steps)} must be strictly increasing, like "10, 20"')
    return steps


def _show(steps: Sequence[int]) -> str:
    return '"' + ",".join(str(s) for s in steps) + '"'


def epoch_size(num_training_samples: int, mini_batch_size: int, num_workers: int = 1) -> int:
    """Updates per epoch as MXNet's fit.py computes them under Python 2 (integer division twice).

    `num_workers` is the number of machines in distributed (dist_sync) training; several GPUs of one
    machine share one `mini_batch_size` and count as one worker.
    """
    return num_training_samples // mini_batch_size // num_workers


@dataclass(frozen=True)
class MultiFactorSchedule:
    """`base_lr` times `factor` once for every step (in updates) that the update number exceeds."""

    base_lr: float
    factor: float = 1.0
    steps: tuple[int, ...] = ()  # empty = constant rate

    def __post_init__(self) -> None:
        if any(step < 1 for step in self.steps):
            raise UserError(
                f"learning-rate steps {list(self.steps)} (in updates) include one below 1: an epoch has no "
                "updates when num_training_samples is below mini_batch_size (times the number of "
                "machines); lower mini_batch_size"
            )
        if any(later <= earlier for earlier, later in itertools.pairwise(self.steps)):
            raise UserError(f"learning-rate steps {list(self.steps)} (in updates) must strictly increase")

    @classmethod
    def for_epochs(
        cls,
        base_lr: float,
        lr_scheduler_step: str | Sequence[int] | None,
        lr_scheduler_factor: float,
        epoch_size: int,
    ) -> MultiFactorSchedule:
        """SageMaker's schedule: steps in epochs of `epoch_size` updates (see `epoch_size()`).

        Constant without steps (None or blank) or with a factor >= 1, as MXNet's fit.py sets it up.
        """
        blank = isinstance(lr_scheduler_step, str) and not lr_scheduler_step.strip()
        if lr_scheduler_step is None or blank or lr_scheduler_factor >= 1:
            return cls(base_lr)
        steps = tuple(epoch_size * epoch for epoch in parse_epoch_steps(lr_scheduler_step))
        return cls(base_lr, lr_scheduler_factor, steps)

    def lr(self, num_update: int) -> float:
        """The rate for update `num_update` (1 for the first update of training)."""
        rate = self.base_lr
        for step in self.steps:
            if num_update <= step:
                break
            rate *= self.factor  # repeated products, as MXNet's scheduler accumulates them
        return rate

    def change_message(self, num_update: int) -> str | None:
        """MXNet's log line when the rate changes at `num_update` (the update after a step), else None."""
        if num_update - 1 not in self.steps:
            return None
        return f"Update[{num_update}]: Change learning rate to {self.lr(num_update):0.5e}"
