"""CreateHyperParameterTuningJob's checks: each bad request gets SageMaker's error, naming the fix."""

import pytest

from roost.platform.errors import InvalidRequest
from roost.platform.tuning_request import OBJECTIVE_KEY, parse_tuning_request, trial_request
from workshop import LEARNING_RATE_RANGE, tuning_request


def _refused(request: dict) -> str:
    with pytest.raises(InvalidRequest) as refused:
        parse_tuning_request(request)
    return str(refused.value)


def _ranges(**kinds) -> dict:
    return {f"{kind}ParameterRanges": ranges for kind, ranges in kinds.items()}


def test_a_valid_request_is_normalised_as_stored_and_gives_trial_requests():
    plan = parse_tuning_request(tuning_request(max_jobs=4, max_parallel=2))
    assert (plan.max_jobs, plan.max_parallel) == (4, 2)
    assert plan.definition["StaticHyperParameters"][OBJECTIVE_KEY] == "validation:accuracy"
    trial = trial_request(plan.definition, "birds-tuning-001-0123abcd", {"learning_rate": "0.01"})
    assert trial["TrainingJobName"] == "birds-tuning-001-0123abcd"
    assert trial["HyperParameters"]["learning_rate"] == "0.01"
    assert trial["HyperParameters"][OBJECTIVE_KEY] == "validation:accuracy"
    assert "StaticHyperParameters" not in trial


@pytest.mark.parametrize("name", ["num_classes", "num_training_samples", "learning_rat"])
def test_ranges_over_untunable_or_unknown_hyperparameters_are_refused(name):
    ranges = _ranges(Integer=[{"Name": name, "MinValue": "2", "MaxValue": "4"}])
    message = _refused(tuning_request(ranges=ranges))
    assert f"has the following untunable hyperparameters: [{name}]" in message
    assert "you can tune only [beta_1, beta_2, eps, gamma, learning_rate, mini_batch_size" in message


def test_min_greater_than_max_is_refused():
    ranges = _ranges(Integer=[{"Name": "mini_batch_size", "MinValue": "64", "MaxValue": "8"}])
    assert "MinValue (64) of the hyperparameter range 'mini_batch_size' is greater than its MaxValue (8)" in (
        _refused(tuning_request(ranges=ranges))
    )


def test_an_objective_the_algorithm_does_not_emit_is_refused():
    request = tuning_request()
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "val:acc"
    assert "The objective metric for the hyperparameter tuning job, [val:acc], isn't valid for the " in (
        _refused(request)
    )


def test_more_parallel_jobs_than_jobs_is_refused():
    assert "MaxParallelTrainingJobs (3) can't be greater than MaxNumberOfTrainingJobs (2)" in _refused(
        tuning_request(max_jobs=2, max_parallel=3)
    )


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        (
            _ranges(Continuous=[{**LEARNING_RATE_RANGE, "MaxValue": "2"}]),
            "Range of 'learning_rate': Customer Error: The value '2.0' is not valid for the 'learning_rate'",
        ),
        (
            _ranges(Continuous=[{**LEARNING_RATE_RANGE, "MinValue": "0"}]),
            "Logarithmic scaling of the hyperparameter range 'learning_rate' needs MinValue greater than 0",
        ),
        (
            _ranges(
                Continuous=[
                    {
                        "Name": "momentum",
                        "MinValue": "0.5",
                        "MaxValue": "1",
                        "ScalingType": "ReverseLogarithmic",
                    }
                ]
            ),
            "needs 0 <= MinValue < MaxValue < 1",
        ),
        (
            _ranges(Integer=[{"Name": "learning_rate", "MinValue": "1", "MaxValue": "2"}]),
            "'learning_rate' is of type Continuous, but its range is Integer",
        ),
        (
            _ranges(Categorical=[{"Name": "optimizer", "Values": ["sgd", "adagrad"]}]),
            "The value 'adagrad' is not valid for the 'optimizer' hyperparameter",
        ),
        (_ranges(), "ParameterRanges must give at least one hyperparameter range"),
    ],
)
def test_ranges_the_algorithm_cannot_take_are_refused(ranges, expected):
    assert expected in _refused(tuning_request(ranges=ranges))


def test_grid_takes_categorical_ranges_and_counts_its_own_jobs():
    grid = _ranges(
        Categorical=[
            {"Name": "optimizer", "Values": ["sgd", "adam"]},
            {"Name": "learning_rate", "Values": ["0.01", "0.05", "0.1"]},
        ]
    )
    assert parse_tuning_request(tuning_request(strategy="Grid", max_jobs=None, ranges=grid)).max_jobs == 6
    assert "The Grid strategy takes categorical hyperparameter ranges only" in _refused(
        tuning_request(strategy="Grid", max_jobs=None)
    )
    assert "MaxNumberOfTrainingJobs is required for the Random strategy" in _refused(
        tuning_request(strategy="Random", max_jobs=None)
    )


def test_hyperband_stops_trials_itself():
    assert "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy" in _refused(
        tuning_request(strategy="Hyperband", TrainingJobEarlyStoppingType="Auto")
    )


def test_shape_errors_read_as_aws_writes_them():
    request = tuning_request(name="no_underscores")
    assert "at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must satisfy regular " in (
        _refused(request)
    )
    request = tuning_request()
    del request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"]
    assert "Value null at 'hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs'" in (
        _refused(request)
    )
