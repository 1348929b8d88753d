"""`roost jobs`: list, describe and stop the server's training jobs, for people without the AWS CLI."""

from __future__ import annotations

import argparse
from typing import Any

from roost.cli.api_client import DEFAULT_ENDPOINT
from roost.platform.lifecycle import JobStatus

HELP = "list the roost server's training jobs, describe one, or stop one"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("list", "describe", "stop"), default="list")
    parser.add_argument("name", nargs="?", help="the training job's name (describe, stop)")
    parser.add_argument("--status", choices=[str(status) for status in JobStatus])
    parser.add_argument("--name-contains", help="only jobs whose name contains this")
    parser.add_argument(
        "--max", type=int, default=50, help="list at most this many, newest first (default: 50)"
    )
    parser.add_argument("--json", action="store_true", help="describe: print DescribeTrainingJob's JSON")
    parser.add_argument(
        "--endpoint-url", default=DEFAULT_ENDPOINT, help="the roost server (default: %(default)s)"
    )


def _duration(job: dict) -> str:
    start, end = job.get("TrainingStartTime"), job.get("TrainingEndTime")
    if start is None:
        return ""
    import datetime

    now = datetime.datetime.now(start.tzinfo)
    return str((end or now) - start).split(".")[0]


def _list(sagemaker: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from roost.cli.api_client import call

    filters = {"StatusEquals": args.status} if args.status else {}
    if args.name_contains:
        filters["NameContains"] = args.name_contains
    summaries, token = [], None
    while len(summaries) < args.max:
        page = call(
            args.endpoint_url,
            sagemaker.list_training_jobs,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=min(100, args.max - len(summaries)),
            **filters,
            **({"NextToken": token} if token else {}),
        )
        summaries += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            break
    table = Table("Name", "Status", "Secondary status", "Created", "Duration", "validation:accuracy")
    for summary in summaries:
        job = call(
            args.endpoint_url, sagemaker.describe_training_job, TrainingJobName=summary["TrainingJobName"]
        )
        accuracy = next(
            (
                f"{m['Value']:.4f}"
                for m in job.get("FinalMetricDataList", [])
                if m["MetricName"] == "validation:accuracy"
            ),
            "",
        )
        table.add_row(
            job["TrainingJobName"],
            job["TrainingJobStatus"],
            job["SecondaryStatus"],
            job["CreationTime"].strftime("%Y-%m-%d %H:%M:%S"),
            _duration(job),
            accuracy,
        )
    Console().print(table)
    return 0


def _describe(job: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None)
    rows = [
        ("Name", job["TrainingJobName"]),
        ("Status", f"{job['TrainingJobStatus']} ({job['SecondaryStatus']})"),
        ("Failure reason", job.get("FailureReason", "")),
        ("Model artifact", job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")),
        ("Instance", f"{job['ResourceConfig']['InstanceType']} x {job['ResourceConfig']['InstanceCount']}"),
        ("Hyperparameters", " ".join(f"{k}={v}" for k, v in sorted(job.get("HyperParameters", {}).items()))),
        ("Duration", _duration(job)),
    ]
    rows += [(m["MetricName"], f"{m['Value']:g}") for m in job.get("FinalMetricDataList", [])]
    for transition in job.get("SecondaryStatusTransitions", []):
        rows.append((f"  {transition['Status']}", transition.get("StatusMessage", "")))
    for key, value in rows:
        if value:
            table.add_row(f"[bold]{key}[/bold]", str(value))
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    import json

    from roost.cli.api_client import call, client
    from roost.cli.terminal import console
    from roost.errors import UserError

    sagemaker = client("sagemaker", args.endpoint_url)
    if args.action == "list":
        return _list(sagemaker, args)
    if not args.name:
        raise UserError(f"roost jobs {args.action} needs the training job's name")
    if args.action == "stop":
        call(args.endpoint_url, sagemaker.stop_training_job, TrainingJobName=args.name)
        console.print(f"stopping {args.name}: it ends Stopped once the algorithm has saved its model")
        return 0
    job = call(args.endpoint_url, sagemaker.describe_training_job, TrainingJobName=args.name)
    if args.json:
        print(json.dumps(job, indent=2, default=str))
    else:
        _describe(job)
    return 0
