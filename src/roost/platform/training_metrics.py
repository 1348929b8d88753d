"""The algorithm's metrics, read from its log lines with the regexes of the spec (§5.5).

SageMaker reports the last value of each metric as FinalMetricDataList and every value as a CloudWatch data
point (namespace `/aws/sagemaker/TrainingJobs`, dimension `TrainingJobName`); the console lists the four
accuracy metrics for the image-classification algorithm, and `top_k` adds the training top-k accuracy. The
patterns anchor on `Train-`/`Validation-` so the `Batch [...]` lines (whose accuracy is a running average
within the epoch) don't count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

METRIC_DEFINITIONS: dict[str, re.Pattern[str]] = {
    "train:accuracy": re.compile(r"Epoch\[[0-9]+\] Train-accuracy=([0-9\.]+)"),
    "validation:accuracy": re.compile(r"Epoch\[[0-9]+\] Validation-accuracy=([0-9\.]+)"),
    "train:accuracy:epoch": re.compile(r"Epoch\[([0-9]+)\] Train-accuracy=[0-9\.]+"),
    "validation:accuracy:epoch": re.compile(r"Epoch\[([0-9]+)\] Validation-accuracy=[0-9\.]+"),
    "train:top_k_accuracy": re.compile(r"Epoch\[[0-9]+\] Train-top_k_accuracy_[0-9]+=([0-9\.]+)"),
}
# The metrics a tuning job may optimise: SageMaker documents validation:accuracy (Maximize) only.
TUNING_OBJECTIVE_METRICS = ("validation:accuracy",)
NAMESPACE = "/aws/sagemaker/TrainingJobs"
DIMENSION = "TrainingJobName"
# The last line the algorithm logs for an epoch's training pass (validation, if any, follows at once).
EPOCH_DONE = re.compile(r"Epoch\[([0-9]+)\] Time cost=")
_ACCURACY = re.compile(r"Epoch\[([0-9]+)\] (Train|Validation)-accuracy=([0-9\.]+)")
_TOP_K = re.compile(r"Epoch\[([0-9]+)\] Train-top_k_accuracy_[0-9]+=([0-9\.]+)")


class MetricTracker:
    """Keeps the latest value of each metric, in FinalMetricDataList's shape."""

    def __init__(self, final_metrics: list[dict[str, Any]] | None = None) -> None:
        self._latest = {m["MetricName"]: m for m in final_metrics or []}

    def observe(self, line: str, at: float) -> list[tuple[str, float]]:
        """Take one log line; the (metric, value) pairs it holds, none for most lines."""
        observed = []
        for name, pattern in METRIC_DEFINITIONS.items():
            match = pattern.search(line)
            if match:
                try:
                    value = float(match.group(1))
                except ValueError:  # "1.2.3" matches [0-9\.]+ but is no number
                    continue
                self._latest[name] = {"MetricName": name, "Value": value, "Timestamp": at}
                observed.append((name, value))
        return observed

    def final(self) -> list[dict[str, Any]]:
        return [self._latest[name] for name in METRIC_DEFINITIONS if name in self._latest]


def metric_definitions() -> list[dict[str, str]]:
    """AlgorithmSpecification.MetricDefinitions, as DescribeTrainingJob shows the built-in algorithm's."""
    return [{"Name": name, "Regex": pattern.pattern} for name, pattern in METRIC_DEFINITIONS.items()]


@dataclass
class EpochAccuracy:
    epoch: int
    train: float | None = None
    validation: float | None = None
    top_k: float | None = None  # Train-top_k_accuracy_<k>, when the job sets top_k


def accuracy_by_epoch(lines: list[str]) -> list[EpochAccuracy]:
    """Train, validation and top-k accuracy per epoch, from a job's log lines (the workshop's table)."""
    epochs: dict[int, EpochAccuracy] = {}
    for line in lines:
        match = _ACCURACY.search(line)
        if match:
            epoch = int(match.group(1))
            row = epochs.setdefault(epoch, EpochAccuracy(epoch))
            setattr(row, match.group(2).lower(), float(match.group(3)))
        top_k = _TOP_K.search(line)
        if top_k:
            epoch = int(top_k.group(1))
            epochs.setdefault(epoch, EpochAccuracy(epoch)).top_k = float(top_k.group(2))
    return [epochs[e] for e in sorted(epochs)]
