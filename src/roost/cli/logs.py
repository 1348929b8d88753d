"""`roost logs JOB [--follow]`: a training job's log stream, as CloudWatch Logs serves it."""

from __future__ import annotations

import argparse

from roost.cli.api_client import DEFAULT_ENDPOINT
from roost.platform.lifecycle import JOB, JobStatus
from roost.platform.log_streams import TRAINING_LOG_GROUP

HELP = "print a training job's log (--follow: keep printing until the job ends)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="the training job's name")
    parser.add_argument("-f", "--follow", action="store_true", help="wait for new lines until the job ends")
    parser.add_argument(
        "--endpoint-url", default=DEFAULT_ENDPOINT, help="the roost server (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    import time

    from rich.markup import escape

    from roost.cli.api_client import call, client
    from roost.cli.terminal import console

    sagemaker, logs = client("sagemaker", args.endpoint_url), client("logs", args.endpoint_url)
    tokens: dict[str, str | None] = {}
    while True:
        # Ask for the status first: lines printed before a final status are then all read below.
        job = call(args.endpoint_url, sagemaker.describe_training_job, TrainingJobName=args.job)
        streams = call(
            args.endpoint_url,
            logs.describe_log_streams,
            logGroupName=TRAINING_LOG_GROUP,
            logStreamNamePrefix=f"{args.job}/",
        )
        for stream in streams["logStreams"]:
            name = stream["logStreamName"]
            while True:
                position = {"nextToken": tokens[name]} if tokens.get(name) else {"startFromHead": True}
                page = call(
                    args.endpoint_url,
                    logs.get_log_events,
                    logGroupName=TRAINING_LOG_GROUP,
                    logStreamName=name,
                    **position,
                )
                for event in page["events"]:
                    print(event["message"], flush=True)
                done = page["nextForwardToken"] == tokens.get(name)
                tokens[name] = page["nextForwardToken"]
                if done or not page["events"]:
                    break
        finished = job["TrainingJobStatus"] in JOB.terminal
        if not args.follow or finished:
            if finished and args.follow:
                console.print(f"{args.job}: {job['TrainingJobStatus']}", soft_wrap=True)
            if job.get("FailureReason"):
                console.print(f"[red]FailureReason:[/red] {escape(job['FailureReason'])}", soft_wrap=True)
            return 1 if job["TrainingJobStatus"] == JobStatus.FAILED else 0
        time.sleep(1.0)
