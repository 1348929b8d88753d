"""What happens after each validation: store the best model, save periodically, stop early (docs/algorithm.md
§5.7).

- `checkpoint_frequency` unset: store the model whenever validation accuracy is strictly better than
  every earlier epoch's (ties do not count), replacing the previous best.
- `checkpoint_frequency = P`: save after epochs P, 2P, ... (1-based) and keep them all.
- `early_stopping=True`: from epoch `early_stopping_min_epochs` on (1-based), stop once
  `early_stopping_patience` epochs in a row brought no improvement, where an improvement must beat the
  best accuracy so far by more than `early_stopping_tolerance` times that accuracy (relative).
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.algorithm.hyperparameters import Hyperparameters


@dataclass
class Selection:
    """The state carried from epoch to epoch (and through a resume)."""

    best_accuracy: float | None = None
    epochs_without_improvement: int = 0


@dataclass(frozen=True)
class Outcome:
    store_best: bool  # a new best model: save it, remove the previous one
    save_periodic: bool  # a checkpoint_frequency epoch: save it, keep the others
    stop: bool  # early stopping says this was the last epoch


def after_validation(selection: Selection, hp: Hyperparameters, epoch: int, accuracy: float) -> Outcome:
    """Update `selection` with 0-based `epoch`'s validation accuracy and say what to do."""
    best = selection.best_accuracy
    improved = best is None or accuracy > best
    significant = best is None or accuracy - best > hp.early_stopping_tolerance * best
    selection.epochs_without_improvement = 0 if significant else selection.epochs_without_improvement + 1
    if improved:
        selection.best_accuracy = accuracy
    completed = epoch + 1
    stop = (
        hp.early_stopping
        and completed >= hp.early_stopping_min_epochs
        and selection.epochs_without_improvement >= hp.early_stopping_patience
    )
    if hp.checkpoint_frequency is None:
        return Outcome(store_best=improved, save_periodic=False, stop=stop)
    return Outcome(store_best=False, save_periodic=completed % hp.checkpoint_frequency == 0, stop=stop)
