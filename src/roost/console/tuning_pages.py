"""Hyperparameter tuning jobs: the list, and a page per job with its trials by objective, the best one, and a
chart of the objective against the trial number.

The pages read the same platform operations as DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob; the chart fetches its points again while the job runs.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from roost.console.pages import Call, render
from roost.platform.errors import ResourceNotFound
from roost.platform.services import Platform
from roost.platform.tuning_jobs import TuningJobRecord
from roost.platform.tuning_results import (
    best,
    objective_counters,
    objective_value,
    status_counters,
    summaries,
)


def _not_found(name: str) -> Response:
    return render("not_found.html", status_code=404, what="hyperparameter tuning job", name=name)


def _by_objective(found: list[dict[str, Any]], maximize: bool) -> list[dict[str, Any]]:
    """Trials best first; those without an objective value last, in the order they started."""
    scored = [s for s in found if objective_value(s) is not None]
    scored.sort(key=lambda s: objective_value(s), reverse=maximize)  # type: ignore[arg-type, return-value]
    return scored + [s for s in found if objective_value(s) is None]


def _row(platform: Platform, record: TuningJobRecord) -> dict[str, Any]:
    found = summaries(platform.tuning_jobs, record)
    return {"job": record, "counters": status_counters(found), "best": best(found, record.maximize)}


def job_list(platform: Platform, call: Call) -> Response:
    rows = [_row(platform, r) for r in reversed(platform.tuning_jobs.all())]  # the newest first
    return render("tuning_job_list.html", rows=rows, objective_value=objective_value)


def job_page(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        record = platform.tuning_jobs.describe(name)
    except ResourceNotFound:
        return _not_found(name)
    found = summaries(platform.tuning_jobs, record)
    return render(
        "tuning_job.html",
        job=record,
        trials=_by_objective(found, record.maximize),
        best=best(found, record.maximize),
        counters=status_counters(found),
        objectives=objective_counters(found),
        objective_value=objective_value,
    )


def objectives(platform: Platform, call: Call) -> Response:
    """The chart's points: each trial's number and objective value (None while it has none)."""
    name = call.path["name"]
    try:
        record = platform.tuning_jobs.describe(name)
    except ResourceNotFound:
        return JSONResponse({"message": f"No hyperparameter tuning job named {name}"}, status_code=404)
    trials = [t for t in platform.tuning_jobs.trials(name) if t.job is not None]
    metric = record.objective["MetricName"]
    return JSONResponse(
        {
            "finished": record.status not in ("InProgress", "Stopping"),
            "trials": [t.number for t in trials],
            "values": [t.objective(metric) for t in trials],
        }
    )
