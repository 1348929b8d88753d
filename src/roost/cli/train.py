"""`roost train`: one training job in the foreground, with its log and a progress bar by epoch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.platform.foreground import JobResult

HELP = "train a model now, in the foreground (the same request as aws sagemaker create-training-job)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cli-input-json",
        metavar="FILE",
        help="a CreateTrainingJob request (file://req.json or a path), as the AWS CLI takes it; local paths "
        "and file:// URIs may stand where SageMaker has S3 URIs; the options below override it",
    )
    parser.add_argument("--train", metavar="PATH", help="the train channel: a folder, a .rec file or a URI")
    parser.add_argument("--validation", metavar="PATH", help="the validation channel")
    parser.add_argument(
        "--channel", action="append", default=[], metavar="NAME=PATH", help="another channel (train_lst, ...)"
    )
    parser.add_argument(
        "--output", metavar="DIR", help="S3OutputPath: the model goes to DIR/JOB/output/model.tar.gz"
    )
    parser.add_argument("--job-name", help="TrainingJobName (default: image-classification-<UTC time>)")
    parser.add_argument(
        "-H",
        "--hyperparameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="repeat for each one",
    )
    parser.add_argument(
        "--instance-type", help="ResourceConfig.InstanceType, recorded (default: ml.p2.xlarge)"
    )
    parser.add_argument(
        "--max-runtime", type=int, metavar="SECONDS", help="StoppingCondition.MaxRuntimeInSeconds"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the job is recorded: its log, status and job directory (default: OUTPUT/.roost, beside "
        "the models)",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        help="s3://BUCKET/KEY means DATA_ROOT/BUCKET/KEY (default: the current directory)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no log lines, only the progress bar")


def _pairs(values: list[str], what: str) -> dict[str, str]:
    from roost.errors import UserError

    pairs = {}
    for value in values:
        name, equals, setting = value.partition("=")
        if not equals or not name:
            raise UserError(f"{what} {value!r} is not NAME=VALUE")
        pairs[name.strip()] = setting
    return pairs


def _request(args: argparse.Namespace) -> dict[str, Any]:
    import json

    from roost.errors import UserError
    from roost.platform.foreground import build_request, channel, local_storage

    channels = {"train": args.train, "validation": args.validation, **_pairs(args.channel, "--channel")}
    channels = {name: path for name, path in channels.items() if path}
    hyperparameters = _pairs(args.hyperparameter, "-H")
    if args.cli_input_json is None:
        if "train" not in channels or args.output is None:
            raise UserError("roost train needs --train and --output, or a request in --cli-input-json")
        return build_request(
            channels=channels,
            output=args.output,
            hyperparameters=hyperparameters,
            job_name=args.job_name,
            **({"instance_type": args.instance_type} if args.instance_type else {}),
            **({"max_runtime_s": args.max_runtime} if args.max_runtime else {}),
            data_root=args.data_root,
        )
    path = Path(args.cli_input_json.removeprefix("file://"))
    try:
        request = json.loads(path.read_text())
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(request, dict):
        raise UserError(f"{path} must hold a JSON object (a CreateTrainingJob request)")
    if args.job_name:
        request["TrainingJobName"] = args.job_name
    request["HyperParameters"] = {**request.get("HyperParameters", {}), **hyperparameters}
    if channels:
        kept = [c for c in request.get("InputDataConfig", []) if c.get("ChannelName") not in channels]
        storage = local_storage(args.data_root)
        request["InputDataConfig"] = kept + [channel(name, uri, storage) for name, uri in channels.items()]
    if args.output:
        request["OutputDataConfig"] = {**request.get("OutputDataConfig", {}), "S3OutputPath": args.output}
    if args.instance_type:
        request.setdefault("ResourceConfig", {"InstanceCount": 1})["InstanceType"] = args.instance_type
    if args.max_runtime:
        request["StoppingCondition"] = {
            **request.get("StoppingCondition", {}),
            "MaxRuntimeInSeconds": args.max_runtime,
        }
    return request


def train_in_foreground(
    request: dict[str, Any],
    *,
    state_dir: Path | None = None,
    data_root: Path | None = None,
    quiet: bool = False,
) -> JobResult:
    """Run one job now, showing its log lines and a progress bar by epoch; raise if it neither completes
    nor was stopped by Ctrl-C or SIGTERM (then it ended Stopped: see `JobResult.interrupted_by`)."""
    from rich.markup import escape

    from roost.cli.terminal import progress_bar
    from roost.errors import UserError
    from roost.platform.foreground import create_training_job, default_job_name
    from roost.platform.training_metrics import EPOCH_DONE, METRIC_DEFINITIONS

    request.setdefault("TrainingJobName", default_job_name())
    validation = METRIC_DEFINITIONS["validation:accuracy"]
    with progress_bar("epochs") as progress:

        def on_line(line: str) -> None:
            if not quiet:
                progress.console.print(escape(line), highlight=False, soft_wrap=True)
            done = EPOCH_DONE.search(line)
            if done:
                progress.update(task, completed=int(done.group(1)) + 1)
            accuracy = validation.search(line)
            if accuracy:
                progress.update(task, description=f"validation accuracy {float(accuracy.group(1)):.3f}")

        job = create_training_job(request, state_dir=state_dir, data_root=data_root, on_line=on_line)
        progress.console.print(
            f"training job {escape(job.record.name)}, recorded in {escape(str(job.state_dir))}",
            soft_wrap=True,
        )
        task = progress.add_task("training", total=job.epochs)
        result = job.run()
    if not result.succeeded and result.interrupted_by is None:
        reason = result.failure_reason or "stopped"
        raise UserError(
            f"training job {result.name} ended {result.status}: {reason} (job directory: {result.job_dir})"
        )
    return result


def _report_interruption(result: JobResult) -> int:
    """Say how an interrupted job ended and what it kept; the shell's code for the signal."""
    import signal

    from rich.markup import escape

    from roost.cli.terminal import console

    by = "Ctrl-C" if result.interrupted_by == signal.SIGINT else signal.Signals(result.interrupted_by).name
    ended = f"training job {escape(result.name)} stopped by {by}: it ended {result.status}"
    if result.model_artifact_uri:
        console.print(
            f"{ended}; the model so far: {escape(str(result.model_artifact or result.model_artifact_uri))}"
        )
    elif result.failure_reason:
        console.print(f"{ended}: {escape(result.failure_reason)}", soft_wrap=True)
    else:
        console.print(f"{ended}, before it had saved a model", soft_wrap=True)
    return 128 + int(result.interrupted_by or 0)


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from roost.cli.terminal import console

    state_dir = args.state_dir.expanduser() if args.state_dir else None
    result = train_in_foreground(
        _request(args), state_dir=state_dir, data_root=args.data_root, quiet=args.quiet
    )
    if result.interrupted_by is not None:
        return _report_interruption(result)
    for name, value in result.final_metrics.items():
        if not name.endswith(":epoch"):
            console.print(f"{name} = {value:g}")
    console.print(f"[green]model:[/green] {escape(str(result.model_artifact or result.model_artifact_uri))}")
    print(result.model_artifact or result.model_artifact_uri)
    return 0
