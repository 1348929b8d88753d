"""CloudWatch metrics: data points by namespace, metric name and dimensions, in a table of their own.

A metric is CloudWatch's triple (namespace, name, dimensions); its data points are (time, value). Statistics
over a period are computed when asked, as CloudWatch does for GetMetricStatistics and GetMetricData: the
periods follow one another from the start time (rounded down to its minute, or its second for periods
under a minute), and a period without data gives no point.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from roost.platform.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metric_points (
    namespace TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    dimensions TEXT NOT NULL,  -- JSON [[name, value], ...] sorted by name: one spelling per metric
    timestamp REAL NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_metric
    ON metric_points (namespace, metric_name, dimensions, timestamp);
"""
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")  # ExtendedStatistics: p0.0 to p100


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted by name

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Mapping[str, str]) -> Metric:
        return cls(namespace, name, tuple(sorted(dimensions.items())))

    @property
    def _key(self) -> str:
        return json.dumps([list(pair) for pair in self.dimensions])


def _statistic(name: str, values: Sequence[float]) -> float:
    """One of STATISTICS, or a percentile `pNN` (nearest rank, as CloudWatch's)."""
    if PERCENTILE.match(name):
        ordered = sorted(values)
        rank = math.ceil(float(name[1:]) / 100 * len(ordered))
        return ordered[min(max(rank, 1), len(ordered)) - 1]
    if name == "SampleCount":
        return float(len(values))
    if name == "Sum":
        return math.fsum(values)
    if name == "Average":
        return math.fsum(values) / len(values)
    return min(values) if name == "Minimum" else max(values)


class Metrics:
    """Every metric's data points, over the platform's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema(_SCHEMA)

    def put(self, metric: Metric, points: Iterable[tuple[float, float]]) -> None:
        """Add (timestamp seconds, value) points to a metric, in one transaction."""
        rows = [(metric.namespace, metric.name, metric._key, at, value) for at, value in points]
        if rows:
            with self.store.write() as db:
                db.executemany(
                    "INSERT INTO metric_points (namespace, metric_name, dimensions, timestamp, value) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )

    def list(
        self,
        namespace: str | None = None,
        name: str | None = None,
        dimensions: Sequence[tuple[str, str | None]] = (),
        since: float | None = None,
    ) -> list[Metric]:
        """The metrics that have data (since `since`, if given), in (namespace, name, dimensions) order; a
        dimension filter's value None matches any value, and a metric may have dimensions it does not name."""
        where: list[str] = []
        parameters: list[object] = []
        for clause, value in (
            ("namespace = ?", namespace),
            ("metric_name = ?", name),
            ("timestamp >= ?", since),
        ):
            if value is not None:
                where.append(clause)
                parameters.append(value)
        rows = self.store.read(
            "SELECT DISTINCT namespace, metric_name, dimensions FROM metric_points "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY namespace, metric_name, dimensions",
            parameters,
        )
        found = [
            Metric(r["namespace"], r["metric_name"], tuple((n, v) for n, v in json.loads(r["dimensions"])))
            for r in rows
        ]
        return [
            metric
            for metric in found
            if all(
                any(n == wanted and (value is None or v == value) for n, v in metric.dimensions)
                for wanted, value in dimensions
            )
        ]

    def points(self, metric: Metric, start: float, end: float) -> list[tuple[float, float]]:
        """(timestamp, value) of the points in [start, end), oldest first."""
        rows = self.store.read(
            "SELECT timestamp, value FROM metric_points WHERE namespace = ? AND metric_name = ? "
            "AND dimensions = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp",
            (metric.namespace, metric.name, metric._key, start, end),
        )
        return [(r["timestamp"], r["value"]) for r in rows]

    def statistics(
        self, metric: Metric, start: float, end: float, period: int, statistics: Sequence[str]
    ) -> list[tuple[float, dict[str, float]]]:
        """Per period that has data: (the period's start, {statistic: value}), oldest first."""
        origin = math.floor(start / 60) * 60 if period % 60 == 0 else math.floor(start)
        by_period: dict[float, list[float]] = {}
        for at, value in self.points(metric, origin, end):
            by_period.setdefault(origin + (at - origin) // period * period, []).append(value)
        return [
            (begin, {name: _statistic(name, values) for name in statistics})
            for begin, values in sorted(by_period.items())
        ]
