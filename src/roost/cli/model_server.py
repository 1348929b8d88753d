"""`roost serve`: a model behind SageMaker's hosting contract (`/ping`, `/invocations`) on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from roost.cli.predict import add_preprocessing_arguments

HELP = "serve a trained model over HTTP as a SageMaker endpoint does (GET /ping, POST /invocations)"
DEFAULT_PORT = 8080  # SageMaker's containers listen there
DEFAULT_MAX_BATCH = 16


def add_serving_arguments(parser: argparse.ArgumentParser, host: str) -> None:
    """Options shared with `roost algorithm serve`."""
    parser.add_argument("--host", default=host, help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (default: %(default)s, SageMaker's; 0 picks a free one)",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=DEFAULT_MAX_BATCH,
        metavar="N",
        help="at most this many waiting requests share one pass of the network (default: %(default)s; "
        "1 turns batching off)",
    )
    add_preprocessing_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", type=Path, help="model.tar.gz of a training job, or the folder it unpacks to"
    )
    add_serving_arguments(parser, host="127.0.0.1")


def serve_model(args: argparse.Namespace) -> int:
    """Load `args.model`, listen, print where, serve until interrupted."""
    from roost.cli.predict import load
    from roost.cli.terminal import console
    from roost.errors import UserError
    from roost.http_listener import listen, serve
    from roost.inference.hosting_app import create_app

    if args.max_batch < 1:
        raise UserError(f"--max-batch must be at least 1, got {args.max_batch}")
    predictor, preprocessor = load(args)
    app = create_app(predictor, preprocessor, max_batch=args.max_batch)
    listener = listen(args.host, args.port)
    url = f"http://{args.host}:{listener.getsockname()[1]}"
    console.print(f"roost serve listening on {url}", soft_wrap=True)
    console.print(
        f"  try: curl --data-binary @photo.jpg -H 'Content-Type: application/x-image' {url}/invocations",
        soft_wrap=True,
    )
    console.print(
        f"  boto3: boto3.client('sagemaker-runtime', endpoint_url='{url}').invoke_endpoint(...)",
        soft_wrap=True,
    )
    serve(app, listener)
    return 0


def run(args: argparse.Namespace) -> int:
    return serve_model(args)
