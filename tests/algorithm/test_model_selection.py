"""Best model (strictly better only), periodic checkpoints and early stopping, epoch by epoch."""

from roost.algorithm.hyperparameters import parse_hyperparameters
from roost.algorithm.model_selection import Selection, after_validation

BASE = {"num_classes": "4", "num_training_samples": "100", "epochs": "30"}


def run(hyperparameters: dict[str, str], accuracies: list[float]) -> list[tuple[bool, bool, bool]]:
    hp = parse_hyperparameters({**BASE, **hyperparameters})
    selection = Selection()
    outcomes = []
    for epoch, accuracy in enumerate(accuracies):
        outcome = after_validation(selection, hp, epoch, accuracy)
        outcomes.append((outcome.store_best, outcome.save_periodic, outcome.stop))
        if outcome.stop:
            break
    return outcomes


def test_only_strictly_better_accuracy_is_stored():
    # The log of docs/algorithm.md §10.10: 0.832031 at epochs 6 and 7; only 6 was stored.
    stored = [best for best, _, _ in run({}, [0.5, 0.7, 0.6, 0.832031, 0.832031, 0.9])]
    assert stored == [True, True, False, True, False, True]


def test_checkpoint_frequency_saves_every_period_and_no_best():
    outcomes = run({"checkpoint_frequency": "2", "epochs": "6"}, [0.1, 0.2, 0.3, 0.2, 0.5, 0.6])
    assert [periodic for _, periodic, _ in outcomes] == [False, True, False, True, False, True]
    assert not any(best for best, _, _ in outcomes)


def test_early_stopping_waits_for_min_epochs_then_patience():
    hp = {"early_stopping": "True", "early_stopping_min_epochs": "4", "early_stopping_patience": "2"}
    flat = run(hp, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert [stop for _, _, stop in flat] == [False, False, False, True]  # 3 epochs without gain by epoch 4
    climbing = run(hp, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert not any(stop for _, _, stop in climbing)


def test_early_stopping_tolerance_is_relative_to_the_best():
    hp = {"early_stopping": "True", "early_stopping_min_epochs": "1", "early_stopping_patience": "2",
          "early_stopping_tolerance": "0.1"}  # fmt: skip
    # 0.50 -> 0.54 -> 0.545: gains of 8% and 1%, both below 10% of the best: no improvement twice.
    assert [stop for _, _, stop in run(hp, [0.5, 0.54, 0.545])] == [False, False, True]
    # ... but each is still the best model so far.
    assert [best for best, _, _ in run(hp, [0.5, 0.54, 0.545])] == [True, True, True]


def test_without_early_stopping_nothing_stops():
    assert not any(stop for _, _, stop in run({}, [0.5] * 30))
