"""The metrics store: CloudWatch's metric identity, dimension filters, periods and statistics."""

import pytest

from roost.platform.metrics import Metric, Metrics
from roost.platform.store import Store


@pytest.fixture
def metrics(tmp_path) -> Metrics:
    return Metrics(Store(tmp_path / "roost.db"))


def test_a_metric_is_its_namespace_name_and_dimensions_in_any_order(metrics):
    metrics.put(Metric.of("ns", "cpu", {"Host": "algo-1", "TrainingJobName": "a"}), [(100.0, 1.0)])
    metrics.put(Metric.of("ns", "cpu", {"TrainingJobName": "a", "Host": "algo-1"}), [(101.0, 3.0)])
    metrics.put(Metric.of("ns", "cpu", {"TrainingJobName": "b"}), [(100.0, 5.0)])
    assert len(metrics.list("ns", "cpu")) == 2
    assert metrics.list(dimensions=[("Host", None)]) == [
        Metric.of("ns", "cpu", {"Host": "algo-1", "TrainingJobName": "a"})
    ]
    assert [m.dimensions for m in metrics.list(dimensions=[("TrainingJobName", "b")])] == [
        (("TrainingJobName", "b"),)
    ]
    assert metrics.list("other") == []
    assert len(metrics.list(since=100.5)) == 1  # only the metric with a point at 101
    one = Metric.of("ns", "cpu", {"TrainingJobName": "a", "Host": "algo-1"})
    assert metrics.points(one, 0, 1000) == [(100.0, 1.0), (101.0, 3.0)]


def test_periods_start_at_the_start_time_and_empty_ones_give_nothing(metrics):
    metric = Metric.of("ns", "acc", {"TrainingJobName": "a"})
    metrics.put(metric, [(130.0, 0.1), (150.0, 0.3), (200.0, 0.5), (400.0, 0.9)])
    stats = metrics.statistics(
        metric, 125.0, 500.0, 60, ["Average", "SampleCount", "Minimum", "Maximum", "Sum"]
    )
    # 125 rounds down to its minute, 120: periods [120, 180), [180, 240), ... and none for [240, 400)
    assert [begin for begin, _ in stats] == [120, 180, 360]
    assert stats[0][1] == {"Average": 0.2, "SampleCount": 2.0, "Minimum": 0.1, "Maximum": 0.3, "Sum": 0.4}
    assert [begin for begin, _ in metrics.statistics(metric, 131.5, 500.0, 10, ["Sum"])] == [141, 191, 391]
    assert metrics.statistics(metric, 401.0, 500.0, 1, ["Sum"]) == []


def test_percentiles_are_nearest_rank(metrics):
    metric = Metric.of("ns", "latency", {})
    metrics.put(metric, [(float(t), float(t)) for t in range(1, 11)])
    [(_, values)] = metrics.statistics(metric, 0.0, 60.0, 60, ["p50", "p90", "p100", "p0.0"])
    assert values == {"p50": 5.0, "p90": 9.0, "p100": 10.0, "p0.0": 1.0}
