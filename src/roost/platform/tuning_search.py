"""A tuning job's search: SageMaker's ParameterRanges and strategies as Optuna's samplers and pruners.

Strategy -> Optuna:
- `Bayesian`: TPESampler (tree-structured Parzen estimators: Bayesian optimisation without a Gaussian
  process, which would need scipy), with `constant_liar` so that parallel trials don't all pick the same
  point; the first trials are random, as SageMaker's are.
- `Random`: RandomSampler.
- `Grid`: GridSampler over every combination of the categorical ranges (SageMaker allows only those).
- `Hyperband`: TPESampler with HyperbandPruner, its resource being epochs (StrategyConfig's
  MinResource/MaxResource).
TrainingJobEarlyStoppingType `Auto` adds MedianPruner: a trial whose best objective so far is worse than the
median of the finished trials' objective at the same epoch is stopped.

ScalingType: `Auto` and `Linear` sample uniformly; `Logarithmic` uniformly in log space;
`ReverseLogarithmic` (continuous, 0 <= min < max < 1) samples 1 - x in log space, so values near 1 are
explored finely, as for momentum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from roost.platform.errors import InvalidRequest

# Optuna logs each trial at INFO; the tuning job's own state says all that.
optuna.logging.set_verbosity(optuna.logging.WARNING)

# The first trials of a Bayesian search are random, as in SageMaker; a few are enough to model from.
BAYESIAN_RANDOM_TRIALS = 3
# Early stopping compares with the median of this many finished trials at least, and never at epoch 0.
MEDIAN_STARTUP_TRIALS = 3
MEDIAN_WARMUP_EPOCHS = 1
_REVERSE = "1-"  # the Optuna parameter behind a ReverseLogarithmic range: 1 - value


@dataclass(frozen=True)
class Range:
    """One tuned hyperparameter: `kind` is Integer, Continuous or Categorical."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The parameter's name inside Optuna (ReverseLogarithmic ranges sample 1 - value)."""
        return _REVERSE + self.name if self.scaling == "ReverseLogarithmic" else self.name

    def distribution(self) -> BaseDistribution:
        if self.kind == "Categorical":
            return CategoricalDistribution(self.values)
        log = self.scaling in ("Logarithmic", "ReverseLogarithmic")
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=log)
        if self.scaling == "ReverseLogarithmic":
            return FloatDistribution(1 - self.high, 1 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=log)

    def bounds(self) -> tuple[str, ...]:
        """The hyperparameter values at the ends of the range (every value, for a categorical one)."""
        if self.kind == "Categorical":
            return self.values
        if self.kind == "Integer":
            return str(int(self.low)), str(int(self.high))
        return repr(self.low), repr(self.high)

    def sampled(self, value: str) -> Any:
        """The Optuna parameter value for a hyperparameter's string value (the inverse of `value`)."""
        if self.kind == "Categorical":
            return value
        if self.kind == "Integer":
            return int(float(value))
        return 1 - float(value) if self.scaling == "ReverseLogarithmic" else float(value)

    def value(self, sampled: Any) -> str:
        """The hyperparameter's string value for an Optuna parameter value."""
        if self.kind == "Categorical":
            return str(sampled)
        if self.kind == "Integer":
            return str(int(sampled))
        return repr(1 - sampled if self.scaling == "ReverseLogarithmic" else float(sampled))


def _number(text: str, kind: str, name: str, which: str) -> float:
    try:
        return float(int(text)) if kind == "Integer" else float(text)
    except ValueError:
        raise InvalidRequest(
            f"The {which} '{text}' of the {kind.lower()} hyperparameter range '{name}' is not "
            f"{'an integer' if kind == 'Integer' else 'a number'}"
        ) from None


def _numeric_range(spec: Mapping[str, Any], kind: str) -> Range:
    name, scaling = spec["Name"], spec.get("ScalingType", "Auto")
    low = _number(spec["MinValue"], kind, name, "MinValue")
    high = _number(spec["MaxValue"], kind, name, "MaxValue")
    if low > high:
        raise InvalidRequest(
            f"The MinValue ({spec['MinValue']}) of the hyperparameter range '{name}' is greater than its "
            f"MaxValue ({spec['MaxValue']}): MinValue must be less than or equal to MaxValue"
        )
    if scaling == "Logarithmic" and low <= 0:
        raise InvalidRequest(
            f"Logarithmic scaling of the hyperparameter range '{name}' needs MinValue greater than 0 "
            f"(it is {spec['MinValue']}): use Linear scaling or a positive MinValue"
        )
    if scaling == "ReverseLogarithmic":
        if kind == "Integer":
            raise InvalidRequest(
                f"ReverseLogarithmic scaling is only for continuous hyperparameter ranges; '{name}' is an "
                "integer range: use Linear or Logarithmic"
            )
        if not 0 <= low < high < 1:
            raise InvalidRequest(
                f"ReverseLogarithmic scaling of the hyperparameter range '{name}' needs "
                f"0 <= MinValue < MaxValue < 1 (they are {spec['MinValue']} and {spec['MaxValue']})"
            )
    return Range(name, kind, low, high, scaling)


def parse_ranges(ranges: Mapping[str, Any]) -> list[Range]:
    """ParameterRanges (already shape-checked) as Ranges, refusing the ones no sampler can use."""
    parsed = [_numeric_range(spec, "Integer") for spec in ranges.get("IntegerParameterRanges", [])]
    parsed += [_numeric_range(spec, "Continuous") for spec in ranges.get("ContinuousParameterRanges", [])]
    for spec in ranges.get("CategoricalParameterRanges", []):
        values = tuple(spec["Values"])
        if len(set(values)) != len(values):
            raise InvalidRequest(f"The categorical hyperparameter range '{spec['Name']}' repeats a value")
        parsed.append(Range(spec["Name"], "Categorical", values=values))
    names = [r.name for r in parsed]
    for name in names:
        if names.count(name) > 1:
            raise InvalidRequest(f"The hyperparameter '{name}' has more than one range: give it one")
    if not parsed:
        raise InvalidRequest("ParameterRanges must give at least one hyperparameter range to tune")
    return parsed


def grid_size(ranges: list[Range]) -> int:
    for hyperparameter in ranges:
        if hyperparameter.kind != "Categorical":
            raise InvalidRequest(
                f"The Grid strategy takes categorical hyperparameter ranges only; '{hyperparameter.name}' "
                f"is {hyperparameter.kind.lower()}: list its values as a CategoricalParameterRange"
            )
    return math.prod(len(r.values) for r in ranges)


class _GridSampler(optuna.samplers.GridSampler):
    """GridSampler without its `study.stop()` at the end of the grid, which works only inside
    `Study.optimize`: the tuning job stops itself, after MaxNumberOfTrainingJobs (the grid's size) trials."""

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return


def _sampler(strategy: str, ranges: list[Range], seed: int | None) -> optuna.samplers.BaseSampler:
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "Grid":
        # A fixed order (seed 0 unless given): trial N is the grid's Nth combination, also after a restart.
        return _GridSampler({r.key: list(r.values) for r in ranges}, seed=seed or 0)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=BAYESIAN_RANDOM_TRIALS, constant_liar=True)


def _pruner(strategy: str, early_stopping: bool, hyperband: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    if strategy == "Hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=hyperband.get("MinResource", 1), max_resource=hyperband.get("MaxResource", "auto")
        )
    if early_stopping:
        return optuna.pruners.MedianPruner(
            n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=MEDIAN_WARMUP_EPOCHS
        )
    return optuna.pruners.NopPruner()


def _covering(distribution: BaseDistribution, value: Any) -> BaseDistribution:
    """`distribution`, widened to hold a numeric `value` from beyond its bounds."""
    if isinstance(distribution, FloatDistribution | IntDistribution) and not (
        distribution.low <= value <= distribution.high
    ):
        kind = type(distribution)
        return kind(min(distribution.low, value), max(distribution.high, value), log=distribution.log)
    return distribution


@dataclass(frozen=True)
class FinishedTrial:
    """A trial of this job or of a warm-start parent, as the search learns from it."""

    tuned: dict[str, str]  # the trial's hyperparameter values
    objective: float | None
    curve: dict[int, float]  # the objective by epoch
    state: str  # "complete", "pruned" or "fail"


_STATES = {
    "complete": optuna.trial.TrialState.COMPLETE,
    "pruned": optuna.trial.TrialState.PRUNED,
    "fail": optuna.trial.TrialState.FAIL,
}


class Search:
    """One tuning job's Optuna study, in memory, rebuilt from the stored trials whenever a driver starts."""

    def __init__(self, config: Mapping[str, Any], ranges: list[Range]) -> None:
        self.ranges = ranges
        self.distributions = {r.key: r.distribution() for r in ranges}
        self.maximize = config["HyperParameterTuningJobObjective"]["Type"] == "Maximize"
        strategy = config["Strategy"]
        early_stopping = config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
        hyperband = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig", {})
        self.study = optuna.create_study(
            direction="maximize" if self.maximize else "minimize",
            sampler=_sampler(strategy, ranges, config.get("RandomSeed")),
            pruner=_pruner(strategy, early_stopping, hyperband),
        )
        self._live: dict[str, optuna.Trial] = {}
        self._reported: dict[str, set[int]] = {}  # epochs each live trial has reported

    def learn(self, trial: FinishedTrial) -> None:
        """Learn from a finished trial, a warm-start parent's too: one whose numbers lie outside today's
        ranges counts for early stopping, and the samplers still draw within the ranges."""
        state = _STATES[trial.state]
        value = trial.objective if state == optuna.trial.TrialState.COMPLETE else None
        if state == optuna.trial.TrialState.COMPLETE and value is None:
            state = optuna.trial.TrialState.FAIL
        try:
            params = {r.key: r.sampled(trial.tuned[r.name]) for r in self.ranges}
            frozen = optuna.trial.create_trial(
                params=params,
                distributions={key: _covering(self.distributions[key], v) for key, v in params.items()},
                value=value,
                intermediate_values=trial.curve,
                state=state,
            )
        except (KeyError, ValueError):  # a hyperparameter it did not tune, or a category it did not have
            return
        self.study.add_trial(frozen)

    def propose(self, name: str) -> dict[str, Any]:
        """Start a trial called `name`; its Optuna parameter values."""
        trial = self.study.ask(self.distributions)
        self._live[name], self._reported[name] = trial, set()
        return dict(trial.params)

    def is_live(self, name: str) -> bool:
        """Whether `name` is a trial the search still waits for."""
        return name in self._live

    def resume(self, name: str, params: dict[str, Any]) -> None:
        """Take up a trial that was running when the previous driver stopped."""
        self.study.enqueue_trial(params, skip_if_exists=False)
        self._live[name], self._reported[name] = self.study.ask(self.distributions), set()

    def hyperparameters(self, params: Mapping[str, Any]) -> dict[str, str]:
        return {r.name: r.value(params[r.key]) for r in self.ranges}

    def should_stop(self, name: str, curve: Mapping[int, float]) -> bool:
        """Report the trial's objective by epoch; True when the pruner would stop it now."""
        trial, reported = self._live[name], self._reported[name]
        for epoch in sorted(set(curve) - reported):
            trial.report(curve[epoch], epoch)
            reported.add(epoch)
        return bool(curve) and trial.should_prune()

    def finish(self, name: str, trial: FinishedTrial) -> None:
        live = self._live.pop(name)
        del self._reported[name]
        state = _STATES[trial.state]
        if state == optuna.trial.TrialState.COMPLETE and trial.objective is not None:
            self.study.tell(live, trial.objective)
        elif state == optuna.trial.TrialState.PRUNED and trial.curve:
            self.study.tell(live, state=state)
        else:
            self.study.tell(live, state=optuna.trial.TrialState.FAIL)
