"""CloudWatch's metric read operations: ListMetrics, GetMetricStatistics, GetMetricData.

botocore sends them as JSON 1.0 with `X-Amz-Target: GraniteServiceVersion20100801.<Operation>` (the first
protocol of cloudwatch's service-2.json that it supports); timestamps are epoch seconds both ways. Errors use
CloudWatch's query-protocol codes (InvalidParameterValue, MissingParameter, ...), which is what clients see.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from roost.platform.api_shapes import parse_input
from roost.platform.errors import (
    InvalidMetricParameter,
    InvalidMetricParameterCombination,
    MissingMetricParameter,
)
from roost.platform.metrics import PERCENTILE, Metric
from roost.platform.request import validation_message
from roost.platform.services import Platform

MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call
LIST_PAGE = 500
_Name = Annotated[str, Field(min_length=1, max_length=255)]
Timestamp = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # epoch seconds
Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Dimension(_Input):
    Name: _Name
    Value: Annotated[str, Field(min_length=1, max_length=1024)]


class DimensionFilter(_Input):
    Name: _Name
    Value: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class ListMetricsInput(_Input):
    Namespace: _Name | None = None
    MetricName: _Name | None = None
    Dimensions: Annotated[list[DimensionFilter], Field(max_length=10)] = []
    NextToken: str | None = None
    RecentlyActive: Literal["PT3H"] | None = None  # only metrics with data in the last three hours


class MetricSpec(_Input):
    Namespace: _Name
    MetricName: _Name
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []

    def metric(self) -> Metric:
        names = [d.Name for d in self.Dimensions]
        if len(set(names)) < len(names):
            raise InvalidMetricParameter("No dimension name may be given twice in Dimensions.")
        return Metric.of(self.Namespace, self.MetricName, {d.Name: d.Value for d in self.Dimensions})


class GetMetricStatisticsInput(MetricSpec):
    StartTime: Timestamp
    EndTime: Timestamp
    Period: Annotated[int, Field(ge=1)]
    Statistics: Annotated[list[Statistic], Field(min_length=1, max_length=5)] | None = None
    ExtendedStatistics: Annotated[list[str], Field(min_length=1, max_length=10)] | None = None
    Unit: str | None = None


class StatSpec(_Input):
    Metric: MetricSpec
    Period: Annotated[int, Field(ge=1)]
    Stat: str
    Unit: str | None = None


class MetricDataQuery(_Input):
    Id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-z][a-zA-Z0-9_]*$")]
    MetricStat: StatSpec | None = None
    Expression: str | None = None
    Label: str | None = None
    ReturnData: bool = True


class GetMetricDataInput(_Input):
    MetricDataQueries: Annotated[list[MetricDataQuery], Field(min_length=1, max_length=500)]
    StartTime: Timestamp
    EndTime: Timestamp
    NextToken: str | None = None
    ScanBy: Literal["TimestampDescending", "TimestampAscending"] = "TimestampDescending"
    MaxDatapoints: Annotated[int, Field(ge=1)] = 100_800


def _parse(operation: str, model: type[Any], payload: dict[str, Any]) -> Any:
    """The members roost acts on; then the whole request against botocore's shape for the operation."""
    try:
        given = model.model_validate(payload)
    except pydantic.ValidationError as failure:
        missing = [e for e in failure.errors() if e["type"] == "missing"]
        if missing:
            # The query protocol's names, which CloudWatch's messages use: Dimensions.member.1.Name
            where = ".".join(f"member.{p + 1}" if isinstance(p, int) else str(p) for p in missing[0]["loc"])
            raise MissingMetricParameter(f"The parameter {where} is required.") from None
        raise InvalidMetricParameter(validation_message(failure)) from None
    parse_input(operation, payload, service_name="cloudwatch")
    return given


def _check_window(start: float, end: float) -> None:
    if start >= end:
        raise InvalidMetricParameter("The parameter StartTime must be less than the parameter EndTime.")


def _check_period(period: int, where: str = "Period") -> None:
    # roost keeps every point at its second, as CloudWatch keeps high-resolution metrics.
    if period not in (1, 5, 10, 20, 30) and period % 60:
        raise InvalidMetricParameter(f"The parameter {where} must be 1, 5, 10, 20, 30 or a multiple of 60.")


def _check_percentiles(names: list[str]) -> None:
    for name in names:
        if not PERCENTILE.match(name):
            raise InvalidMetricParameter(
                f"The value {name} for parameter ExtendedStatistics is not supported: give a percentile "
                "between p0.0 and p100, such as p90 or p99.9."
            )


def _dimensions(metric: Metric) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in metric.dimensions]


def list_metrics(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: ListMetricsInput = _parse("ListMetrics", ListMetricsInput, payload)
    found = platform.metrics.list(
        given.Namespace,
        given.MetricName,
        [(d.Name, d.Value) for d in given.Dimensions],
        since=time.time() - 3 * 3600 if given.RecentlyActive else None,
    )
    start = _offset(given.NextToken)
    response: dict[str, Any] = {
        "Metrics": [
            {"Namespace": m.namespace, "MetricName": m.name, "Dimensions": _dimensions(m)}
            for m in found[start : start + LIST_PAGE]
        ]
    }
    if start + LIST_PAGE < len(found):
        response["NextToken"] = _token(start + LIST_PAGE)
    return response


def get_metric_statistics(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: GetMetricStatisticsInput = _parse("GetMetricStatistics", GetMetricStatisticsInput, payload)
    if bool(given.Statistics) == bool(given.ExtendedStatistics):
        raise InvalidMetricParameterCombination(
            "Must specify either Statistics or ExtendedStatistics, but not both."
        )
    _check_percentiles(given.ExtendedStatistics or [])
    _check_window(given.StartTime, given.EndTime)
    _check_period(given.Period)
    requested = int((given.EndTime - given.StartTime) // given.Period) + 1
    if requested > MAX_DATAPOINTS:
        raise InvalidMetricParameterCombination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, or "
            "decreasing the time range."
        )
    metric = given.metric()
    datapoints = []
    if given.Unit in (None, "None"):  # roost's points have no unit; CloudWatch matches units exactly
        names = [*(given.Statistics or []), *(given.ExtendedStatistics or [])]
        for begin, values in platform.metrics.statistics(
            metric, given.StartTime, given.EndTime, given.Period, names
        ):
            point: dict[str, Any] = {"Timestamp": begin, "Unit": "None"}
            point.update({k: v for k, v in values.items() if k in (given.Statistics or [])})
            if given.ExtendedStatistics:
                point["ExtendedStatistics"] = {k: values[k] for k in given.ExtendedStatistics}
            datapoints.append(point)
    return {"Label": given.MetricName, "Datapoints": datapoints}


def get_metric_data(platform: Platform, payload: dict[str, Any], region: str) -> dict[str, Any]:
    given: GetMetricDataInput = _parse("GetMetricData", GetMetricDataInput, payload)
    if given.NextToken is not None:
        raise InvalidMetricParameter(
            "The specified NextToken is invalid: roost returns every datapoint at once."
        )
    _check_window(given.StartTime, given.EndTime)
    ids = [q.Id for q in given.MetricDataQueries]
    if len(set(ids)) < len(ids):
        raise InvalidMetricParameter("The values for parameter Id in MetricDataQueries must be unique.")
    results = []
    for query in given.MetricDataQueries:
        if query.MetricStat is None or query.Expression is not None:
            raise InvalidMetricParameter(
                f"The MetricDataQuery '{query.Id}' has no MetricStat or has an Expression: roost answers "
                "MetricStat queries only, not metric math or Metrics Insights."
            )
        stat = query.MetricStat
        if stat.Stat not in Statistic.__args__ and not PERCENTILE.match(stat.Stat):
            raise InvalidMetricParameter(
                f"The value {stat.Stat} for parameter MetricDataQueries.member.Stat is not supported: use "
                "SampleCount, Average, Sum, Minimum, Maximum or a percentile such as p90."
            )
        _check_period(stat.Period, "MetricDataQueries.member.MetricStat.Period")
        metric = stat.Metric.metric()
        if not query.ReturnData:
            continue
        points = []
        if stat.Unit in (None, "None"):
            points = [
                (begin, values[stat.Stat])
                for begin, values in platform.metrics.statistics(
                    metric, given.StartTime, given.EndTime, stat.Period, [stat.Stat]
                )
            ]
        if given.ScanBy == "TimestampDescending":
            points.reverse()
        points = points[: given.MaxDatapoints]
        results.append(
            {
                "Id": query.Id,
                "Label": query.Label or metric.name,
                "Timestamps": [at for at, _ in points],
                "Values": [value for _, value in points],
                "StatusCode": "Complete",
            }
        )
    return {"MetricDataResults": results, "Messages": []}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(offset).encode()).decode()


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode())))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidMetricParameter(
            "The parameter NextToken is invalid: pass the one the last call returned."
        ) from None


OPERATIONS = {
    "ListMetrics": list_metrics,
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
}
