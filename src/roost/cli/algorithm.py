"""`roost algorithm train|serve --ml-dir DIR`: the container entry points on an /opt/ml-style folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from roost.cli.model_server import add_serving_arguments, serve_model

HELP = (
    "run the algorithm itself on a job directory laid out like SageMaker's /opt/ml (train, serve, transform)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="train on DIR/input, write DIR/model (exit 0), or DIR/output/failure (exit non-zero)",
        description="Train as SageMaker's image-classification container does: hyperparameters from "
        "DIR/input/config, channels from DIR/input/data, the model to DIR/model, resumable state to "
        "DIR/checkpoints. Set ROOST_SEED for another seed (default 0: runs repeat exactly on a CPU).",
    )
    train.add_argument(
        "--ml-dir", type=Path, default=Path("/opt/ml"), help="the job directory (default /opt/ml)"
    )
    serve = actions.add_parser(
        "serve",
        help="serve DIR/model as SageMaker's hosting container does (GET /ping, POST /invocations)",
        description="Serve the model in DIR/model (model.tar.gz extracted there, as SageMaker does) on all "
        "interfaces, port 8080, as the container started with `serve` does.",
    )
    serve.add_argument(
        "--ml-dir", type=Path, default=Path("/opt/ml"), help="the job directory (default /opt/ml)"
    )
    add_serving_arguments(serve, host="0.0.0.0")
    transform = actions.add_parser(
        "transform",
        help="answer every file of DIR/input/data into DIR/output/data/<file>.out (batch transform)",
        description="Batch transform: the model DIR/model/model.tar.gz answers each file under "
        "DIR/input/data as its endpoint would (DIR/input/config/transform.json: ContentType, Accept), into "
        "DIR/output/data/<file>.out; a failure goes to DIR/output/failure (exit 1).",
    )
    transform.add_argument("--ml-dir", type=Path, required=True, help="the job directory")


def run(args: argparse.Namespace) -> int:
    if args.action == "serve":
        args.model = args.ml_dir / "model"
        return serve_model(args)
    if args.action == "transform":
        from roost.inference.batch_transform import run as transform

        return transform(args.ml_dir)
    from roost.algorithm.entry import run as train

    return train(args.ml_dir)
