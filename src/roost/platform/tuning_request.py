"""The CreateHyperParameterTuningJob request: its shape (botocore's), and what roost checks before storing it.

Members roost does not act on are kept as sent and shown again by DescribeHyperParameterTuningJob. The
training job definition is checked as a CreateTrainingJob request of its first trial would be, so a tuning
job never starts trials that cannot run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from roost.algorithm.hyperparameters import (
    TUNABLE_HYPERPARAMETERS,
    HyperparameterError,
    parse_hyperparameters,
)
from roost.platform.api_shapes import parse_input
from roost.platform.errors import InvalidRequest
from roost.platform.request import validation_message
from roost.platform.training_metrics import TUNING_OBJECTIVE_METRICS
from roost.platform.tuning_search import Range, grid_size, parse_ranges

TUNING_JOB_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
OBJECTIVE_KEY = "_tuning_objective_metric"  # the static hyperparameter SageMaker adds to every trial
ALGORITHM = "image-classification"
# The definition's members that describe the tuning, not a training job.
_TUNING_ONLY = (
    "DefinitionName",
    "TuningObjective",
    "HyperParameterRanges",
    "StaticHyperParameters",
    "HyperParameterTuningResourceConfig",
)
_INSTANCE = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")

Scaling = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]
Value = Annotated[str, Field(max_length=256)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class NumericRange(_Shape):
    Name: Value
    MinValue: Value
    MaxValue: Value
    ScalingType: Scaling = "Auto"


class CategoricalRange(_Shape):
    Name: Value
    Values: Annotated[list[Value], Field(min_length=1, max_length=30)]


class ParameterRangesSpec(_Shape):
    IntegerParameterRanges: Annotated[list[NumericRange], Field(max_length=30)] = []
    ContinuousParameterRanges: Annotated[list[NumericRange], Field(max_length=30)] = []
    CategoricalParameterRanges: Annotated[list[CategoricalRange], Field(max_length=30)] = []


class ObjectiveSpec(_Shape):
    Type: Literal["Maximize", "Minimize"]
    MetricName: Annotated[str, Field(min_length=1, max_length=255)]


class ResourceLimitsSpec(_Shape):
    MaxNumberOfTrainingJobs: Annotated[int, Field(ge=1)] | None = None
    MaxParallelTrainingJobs: Annotated[int, Field(ge=1)]
    MaxRuntimeInSeconds: Annotated[int, Field(ge=120, le=15_768_000)] | None = None


class HyperbandSpec(_Shape):
    MinResource: Annotated[int, Field(ge=1)] | None = None
    MaxResource: Annotated[int, Field(ge=1)] | None = None


class StrategyConfigSpec(_Shape):
    HyperbandStrategyConfig: HyperbandSpec | None = None


class NotImprovingSpec(_Shape):
    MaxNumberOfTrainingJobsNotImproving: Annotated[int, Field(ge=3)] | None = None


class CompletionSpec(_Shape):
    TargetObjectiveMetricValue: float | None = None
    BestObjectiveNotImproving: NotImprovingSpec | None = None


class TuningConfigSpec(_Shape):
    Strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"]
    StrategyConfig: StrategyConfigSpec | None = None
    HyperParameterTuningJobObjective: ObjectiveSpec | None = None
    ResourceLimits: ResourceLimitsSpec
    ParameterRanges: ParameterRangesSpec | None = None
    TrainingJobEarlyStoppingType: Literal["Off", "Auto"] = "Off"
    RandomSeed: Annotated[int, Field(ge=0)] | None = None
    TuningJobCompletionCriteria: CompletionSpec | None = None


class DefinitionSpec(_Shape):
    TuningObjective: ObjectiveSpec | None = None
    HyperParameterRanges: ParameterRangesSpec | None = None
    StaticHyperParameters: Annotated[
        dict[Annotated[str, Field(max_length=256)], Annotated[str, Field(max_length=2500)]],
        Field(max_length=100),
    ] = {}
    AlgorithmSpecification: dict[str, Any]
    RoleArn: str
    OutputDataConfig: dict[str, Any]
    StoppingCondition: dict[str, Any]


class ParentSpec(_Shape):
    HyperParameterTuningJobName: Annotated[
        str, Field(min_length=1, max_length=32, pattern=f"^{TUNING_JOB_NAME_PATTERN}$")
    ]


class WarmStartSpec(_Shape):
    ParentHyperParameterTuningJobs: Annotated[list[ParentSpec], Field(min_length=1, max_length=5)]
    WarmStartType: Literal["IdenticalDataAndAlgorithm", "TransferLearning"]


class CreateTuningJobRequest(_Shape):
    HyperParameterTuningJobName: Annotated[
        str, Field(min_length=1, max_length=32, pattern=f"^{TUNING_JOB_NAME_PATTERN}$")
    ]
    HyperParameterTuningJobConfig: TuningConfigSpec
    TrainingJobDefinition: DefinitionSpec | None = None
    TrainingJobDefinitions: Annotated[list[DefinitionSpec], Field(min_length=1, max_length=10)] | None = None
    WarmStartConfig: WarmStartSpec | None = None


@dataclass(frozen=True)
class TuningPlan:
    """A valid request, normalised as it is stored: one config, one definition, and what they mean."""

    name: str
    config: dict[str, Any]  # HyperParameterTuningJobConfig, with the objective and the ranges in it
    definition: dict[str, Any]  # TrainingJobDefinition, StaticHyperParameters with OBJECTIVE_KEY
    warm_start: dict[str, Any] | None
    ranges: list[Range]
    max_jobs: int
    max_parallel: int

    def stored(self) -> dict[str, Any]:
        request = {
            "HyperParameterTuningJobName": self.name,
            "HyperParameterTuningJobConfig": self.config,
            "TrainingJobDefinition": self.definition,
        }
        return {**request, "WarmStartConfig": self.warm_start} if self.warm_start else request


def trial_request(definition: Mapping[str, Any], name: str, tuned: Mapping[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of one trial: the definition, its static and its tuned values."""
    request = {k: v for k, v in definition.items() if k not in _TUNING_ONLY}
    request["TrainingJobName"] = name
    request["HyperParameters"] = {**definition["StaticHyperParameters"], **tuned}
    return request


def _with_resources(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with a ResourceConfig, taken from HyperParameterTuningResourceConfig (as the SDK sends
    the instances) when it has none: trials run on it, and the SDK's `attach` reads it back."""
    tuning_resources = definition.get("HyperParameterTuningResourceConfig")
    if "ResourceConfig" in definition or not tuning_resources:
        return definition
    first = tuning_resources if "InstanceType" in tuning_resources else tuning_resources["InstanceConfigs"][0]
    return {**definition, "ResourceConfig": {k: first[k] for k in _INSTANCE if k in first}}


def _objective(config: TuningConfigSpec, definition: DefinitionSpec) -> ObjectiveSpec:
    objective = config.HyperParameterTuningJobObjective or definition.TuningObjective
    if objective is None:
        raise InvalidRequest(
            "1 validation error detected: Value null at "
            "'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective' failed to satisfy constraint: "
            f"Member must not be null (the {ALGORITHM} algorithm is tuned on "
            f"{{'Type': 'Maximize', 'MetricName': '{TUNING_OBJECTIVE_METRICS[0]}'}})"
        )
    if objective.MetricName not in TUNING_OBJECTIVE_METRICS:
        raise InvalidRequest(
            f"The objective metric for the hyperparameter tuning job, [{objective.MetricName}], isn't valid "
            f"for the [{ALGORITHM}] algorithm. Choose a valid objective metric: "
            f"[{', '.join(TUNING_OBJECTIVE_METRICS)}]"
        )
    return objective


def _check_tunable(ranges: list[Range], static: Mapping[str, str]) -> None:
    untunable = [r.name for r in ranges if r.name not in TUNABLE_HYPERPARAMETERS]
    if untunable:
        raise InvalidRequest(
            "The hyperparameter tuning job that you requested has the following untunable hyperparameters: "
            f"[{', '.join(untunable)}]. For the algorithm, {ALGORITHM}, you can tune only "
            f"[{', '.join(TUNABLE_HYPERPARAMETERS)}]. Delete untunable hyperparameters."
        )
    for hyperparameter in ranges:
        kind = TUNABLE_HYPERPARAMETERS[hyperparameter.name]
        if hyperparameter.kind != "Categorical" and hyperparameter.kind != kind:
            raise InvalidRequest(
                f"The hyperparameter '{hyperparameter.name}' is of type {kind}, but its range is "
                f"{hyperparameter.kind}: give it a {kind}ParameterRange (or a CategoricalParameterRange)"
            )
        if hyperparameter.name in static:
            raise InvalidRequest(
                f"The hyperparameter '{hyperparameter.name}' is both static and tuned: remove it from "
                "StaticHyperParameters or from the ranges"
            )
        for value in hyperparameter.bounds():  # every value the range can take is one the algorithm accepts
            try:
                parse_hyperparameters({**static, hyperparameter.name: value})
            except HyperparameterError as error:
                raise InvalidRequest(f"Range of '{hyperparameter.name}': {error}") from None


def _limits(config: TuningConfigSpec, ranges: list[Range]) -> tuple[int, int]:
    limits = config.ResourceLimits
    if config.Strategy == "Grid":
        combinations = grid_size(ranges)
        max_jobs = min(limits.MaxNumberOfTrainingJobs or combinations, combinations)
    elif limits.MaxNumberOfTrainingJobs is None:
        raise InvalidRequest(
            f"ResourceLimits.MaxNumberOfTrainingJobs is required for the {config.Strategy} strategy "
            "(only Grid computes it, from the number of combinations)"
        )
    else:
        max_jobs = limits.MaxNumberOfTrainingJobs
    if limits.MaxParallelTrainingJobs > max_jobs:
        raise InvalidRequest(
            f"ResourceLimits.MaxParallelTrainingJobs ({limits.MaxParallelTrainingJobs}) can't be greater "
            f"than MaxNumberOfTrainingJobs ({max_jobs}): lower MaxParallelTrainingJobs"
        )
    return max_jobs, limits.MaxParallelTrainingJobs


def _check_strategy(config: TuningConfigSpec) -> None:
    hyperband = config.StrategyConfig.HyperbandStrategyConfig if config.StrategyConfig else None
    if config.Strategy != "Hyperband" and hyperband is not None:
        raise InvalidRequest(
            f"StrategyConfig.HyperbandStrategyConfig is for the Hyperband strategy, not {config.Strategy}"
        )
    if config.Strategy == "Hyperband" and config.TrainingJobEarlyStoppingType == "Auto":
        raise InvalidRequest(
            "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy, which stops trials early "
            "itself"
        )
    low, high = (hyperband.MinResource, hyperband.MaxResource) if hyperband else (None, None)
    if low is not None and high is not None and low > high:
        raise InvalidRequest(
            f"HyperbandStrategyConfig.MinResource ({low}) can't be greater than MaxResource ({high})"
        )


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def parse_tuning_request(raw: Any) -> TuningPlan:
    """Validate a CreateHyperParameterTuningJob request; raise InvalidRequest in SageMaker's words.

    Everything that needs no store or storage: the shape, the objective, the ranges against the algorithm's
    hyperparameters, the limits. The caller checks the parents and a trial's training request."""
    given = parse_input("CreateHyperParameterTuningJob", raw)
    try:
        request = CreateTuningJobRequest.model_validate(given)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None
    definitions = request.TrainingJobDefinitions or []
    if request.TrainingJobDefinition is not None:
        definitions = [request.TrainingJobDefinition, *definitions]
    if len(definitions) != 1:
        raise InvalidRequest(
            "Give one training job definition: TrainingJobDefinition, or TrainingJobDefinitions with one "
            f"member (roost tunes the {ALGORITHM} algorithm, one definition per tuning job)"
        )
    definition, config = definitions[0], request.HyperParameterTuningJobConfig
    objective = _objective(config, definition)
    range_spec = config.ParameterRanges or definition.HyperParameterRanges or ParameterRangesSpec()
    ranges = parse_ranges(_dump(range_spec))
    static = {**definition.StaticHyperParameters, OBJECTIVE_KEY: objective.MetricName}
    _check_tunable(ranges, static)
    _check_strategy(config)
    max_jobs, max_parallel = _limits(config, ranges)
    stored_config = {
        **_dump(config),
        "HyperParameterTuningJobObjective": _dump(objective),
        "ParameterRanges": _dump(range_spec),
    }
    stored_definition = {**_with_resources(_dump(definition)), "StaticHyperParameters": static}
    warm_start = _dump(request.WarmStartConfig) if request.WarmStartConfig else None
    return TuningPlan(
        request.HyperParameterTuningJobName,
        stored_config,
        stored_definition,
        warm_start,
        ranges,
        max_jobs,
        max_parallel,
    )
