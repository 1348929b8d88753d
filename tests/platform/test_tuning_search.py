"""The Optuna mapping: each range's values stay in bounds at its scale; Grid covers every combination; early
stopping stops a trial behind the median of the finished ones."""

import math

from roost.platform.tuning_search import FinishedTrial, Search, parse_ranges

RANGES = {
    "IntegerParameterRanges": [
        {"Name": "mini_batch_size", "MinValue": "8", "MaxValue": "512", "ScalingType": "Logarithmic"}
    ],
    "ContinuousParameterRanges": [
        {"Name": "learning_rate", "MinValue": "1e-6", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
        {"Name": "weight_decay", "MinValue": "0", "MaxValue": "0.1", "ScalingType": "Linear"},
    ],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
}


def _config(strategy: str, **extra) -> dict:
    objective = {"Type": "Maximize", "MetricName": "validation:accuracy"}
    return {"Strategy": strategy, "HyperParameterTuningJobObjective": objective, "RandomSeed": 7, **extra}


def _sample(search: Search, count: int) -> list[dict[str, str]]:
    found = []
    for number in range(count):
        name = f"t{number}"
        values = search.hyperparameters(search.propose(name))
        search.finish(name, FinishedTrial(values, 0.5, {0: 0.5}, "complete"))
        found.append(values)
    return found


def test_values_stay_in_their_ranges_at_their_scale():
    ranges = parse_ranges(RANGES)
    samples = _sample(Search(_config("Random"), ranges), 200)
    batch = [int(s["mini_batch_size"]) for s in samples]
    rates = [float(s["learning_rate"]) for s in samples]
    momenta = [float(s["momentum"]) for s in samples]
    assert min(batch) >= 8 and max(batch) <= 512
    assert min(rates) >= 1e-6 and max(rates) <= 0.5
    assert min(momenta) >= 0.9 and max(momenta) <= 0.999
    assert 0 <= min(float(s["weight_decay"]) for s in samples) <= 0.1
    assert {s["optimizer"] for s in samples} == {"sgd", "adam"}
    # Logarithmic: as many rates below 1e-3 as above (the middle of 1e-6..0.5 in log space is ~7e-4).
    assert 70 < sum(r < math.sqrt(1e-6 * 0.5) for r in rates) < 130
    # ReverseLogarithmic: half the momenta within 0.99..0.999, a tenth of the range near 1.
    assert 70 < sum(m > 1 - math.sqrt(0.1 * 0.001) for m in momenta) < 130


def test_grid_tries_every_combination_once():
    grid = {
        "CategoricalParameterRanges": [
            {"Name": "optimizer", "Values": ["sgd", "adam", "nag"]},
            {"Name": "learning_rate", "Values": ["0.01", "0.1"]},
        ]
    }
    samples = _sample(Search(_config("Grid"), parse_ranges(grid)), 6)
    assert sorted((s["optimizer"], s["learning_rate"]) for s in samples) == sorted(
        (o, r) for o in ("sgd", "adam", "nag") for r in ("0.01", "0.1")
    )


def test_early_stopping_stops_a_trial_behind_the_median_of_finished_ones():
    ranges = parse_ranges({"ContinuousParameterRanges": RANGES["ContinuousParameterRanges"][:1]})
    search = Search(_config("Bayesian", TrainingJobEarlyStoppingType="Auto"), ranges)
    for _ in range(3):
        search.learn(FinishedTrial({"learning_rate": "0.1"}, 0.8, {0: 0.5, 1: 0.7, 2: 0.8}, "complete"))
    search.propose("ahead")
    search.propose("behind")
    assert not search.should_stop("ahead", {0: 0.1})  # epoch 0 is never judged
    assert not search.should_stop("ahead", {0: 0.1, 1: 0.75})
    assert search.should_stop("behind", {0: 0.1, 1: 0.3})


def test_without_early_stopping_no_trial_is_stopped():
    ranges = parse_ranges({"ContinuousParameterRanges": RANGES["ContinuousParameterRanges"][:1]})
    search = Search(_config("Bayesian"), ranges)
    for _ in range(3):
        search.learn(FinishedTrial({"learning_rate": "0.1"}, 0.8, {0: 0.5, 1: 0.7}, "complete"))
    search.propose("behind")
    assert not search.should_stop("behind", {0: 0.1, 1: 0.3})
