"""What a tuning job has found so far: its trials as SageMaker summarises them, the counters, the best one.

Shapes are botocore's HyperParameterTrainingJobSummary, TrainingJobStatusCounters and ObjectiveStatusCounters.
A trial counts as Succeeded when its training job ended Completed or Stopped (early stopping included) with a
value of the objective metric; the best trial is the best such value (ties: the earlier trial).
"""

from __future__ import annotations

from typing import Any

from roost.platform.lifecycle import JobStatus
from roost.platform.tuning_jobs import Trial, TuningJobRecord, TuningJobs


def trial_summary(record: TuningJobRecord, trial: Trial) -> dict[str, Any]:
    job = trial.job
    assert job is not None
    metric = record.objective["MetricName"]
    summary: dict[str, Any] = {
        "TrainingJobName": trial.name,
        "TrainingJobArn": job.arn,
        "TuningJobName": record.name,
        "CreationTime": job.creation_time,
        "TrainingJobStatus": job.status,
        "TunedHyperParameters": trial.tuned,
        "ObjectiveStatus": trial.objective_status(metric),
    }
    value = trial.objective(metric)
    if value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": record.objective["Type"],
            "MetricName": metric,
            "Value": value,
        }
    for key, present in (
        ("TrainingStartTime", job.training_start_time),
        ("TrainingEndTime", job.training_end_time),
        ("FailureReason", job.failure_reason),
    ):
        if present is not None:
            summary[key] = present
    return summary


def summaries(tuning: TuningJobs, record: TuningJobRecord) -> list[dict[str, Any]]:
    """Every trial that became a training job, in the order they started."""
    return [trial_summary(record, t) for t in tuning.trials(record.name) if t.job is not None]


def objective_value(summary: dict[str, Any]) -> float | None:
    if summary["ObjectiveStatus"] != "Succeeded":
        return None
    return summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def best(found: list[dict[str, Any]], maximize: bool) -> dict[str, Any] | None:
    scored = [s for s in found if objective_value(s) is not None]
    if not scored:
        return None
    sign = 1 if maximize else -1
    # max() keeps the first of equals: the earlier trial wins a tie.
    return max(scored, key=lambda s: sign * objective_value(s))  # type: ignore[operator]


def status_counters(found: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [s["TrainingJobStatus"] for s in found]
    return {
        "Completed": statuses.count(JobStatus.COMPLETED),
        "InProgress": statuses.count(JobStatus.IN_PROGRESS) + statuses.count(JobStatus.STOPPING),
        "RetryableError": 0,
        "NonRetryableError": statuses.count(JobStatus.FAILED),
        "Stopped": statuses.count(JobStatus.STOPPED),
    }


def objective_counters(found: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [s["ObjectiveStatus"] for s in found]
    return {name: statuses.count(name) for name in ("Succeeded", "Pending", "Failed")}


def not_improving(found: list[dict[str, Any]], maximize: bool) -> int:
    """How many trials with an objective have ended since the best one so far."""
    values = [v for v in map(objective_value, found) if v is not None]
    sign = 1 if maximize else -1
    best_at = max(range(len(values)), key=lambda i: sign * values[i], default=-1)
    return len(values) - 1 - best_at


def criteria_met(record: TuningJobRecord, found: list[dict[str, Any]]) -> bool:
    """Whether TuningJobCompletionCriteria says the tuning job has found enough: no more trials start."""
    criteria = record.config.get("TuningJobCompletionCriteria") or {}
    target = criteria.get("TargetObjectiveMetricValue")
    winner = best(found, record.maximize)
    if target is not None and winner is not None:
        value = objective_value(winner)
        assert value is not None
        if (value >= target) if record.maximize else (value <= target):
            return True
    patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
    return patience is not None and not_improving(found, record.maximize) >= patience


def overall_best(
    tuning: TuningJobs, record: TuningJobRecord, own: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The best trial of this job and its warm-start parents (SageMaker's OverallBestTrainingJob)."""
    candidates = [own] if own else []
    for parent in (record.request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs", []):
        parent_record = tuning.describe(parent["HyperParameterTuningJobName"])
        found = best(summaries(tuning, parent_record), parent_record.maximize)
        if found:
            candidates.append(found)
    return best(candidates, record.maximize)
