"""`roost server`: the SageMaker-compatible platform (training jobs, endpoints, transform jobs) here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from roost.cli.api_client import DEFAULT_PORT
from roost.platform.defaults import DEFAULT_STATE_DIR, STOP_GRACE_S

HELP = (
    "run the platform (training jobs, endpoints, batch transform) that AWS clients talk to (--endpoint-url)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)"
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients reach this server by, besides its addresses, localhost and this "
        "machine's names (repeatable; other names are refused, against DNS rebinding)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0 picks a free one)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where jobs, their logs and their working directories are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path.cwd(),
        help="s3://BUCKET/KEY means DATA_ROOT/BUCKET/KEY, for jobs and for S3 calls to this server; "
        "the server reads and writes nowhere else "
        "(default: the current directory)",
    )
    parser.add_argument(
        "--s3-endpoint-url",
        default=os.environ.get("ROOST_S3_ENDPOINT_URL"),
        help="send s3:// URIs to this S3-compatible endpoint (boto3) instead (env ROOST_S3_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--max-concurrent-jobs", type=int, default=1, help="jobs that train at once (default: 1)"
    )
    parser.add_argument(
        "--stop-grace-seconds",
        type=float,
        default=STOP_GRACE_S,
        help="after StopTrainingJob's SIGTERM, SIGKILL this much later (default: SageMaker's %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from roost.api.app import create_app
    from roost.api.host_guard import machine_names
    from roost.cli.terminal import console
    from roost.errors import UserError
    from roost.http_listener import listen, serve
    from roost.platform.services import Platform
    from roost.platform.storage import Storage

    if args.max_concurrent_jobs < 1:
        raise UserError("--max-concurrent-jobs must be at least 1")
    if not args.data_root.is_dir():
        raise UserError(f"--data-root {args.data_root} is not a folder")
    s3 = None
    if args.s3_endpoint_url:
        import boto3

        s3 = boto3.client("s3", endpoint_url=args.s3_endpoint_url)
    storage = Storage(args.data_root, confined=True, s3_client=s3)
    state_dir = args.state_dir.expanduser().resolve()
    platform = Platform.open(
        state_dir,
        storage,
        max_concurrent=args.max_concurrent_jobs,
        stop_grace_s=args.stop_grace_seconds,
    )
    listener = listen(args.host, args.port)
    port = listener.getsockname()[1]
    url = f"http://{args.host}:{port}"
    console.print(f"roost server listening on {url}", soft_wrap=True)
    if args.host in ("127.0.0.1", "localhost", "::1"):
        console.print("  bound to this machine only (--host 0.0.0.0 to let other machines in)")
    console.print(f"  state: {state_dir}   data root (s3://BUCKET/KEY): {storage.data_root}")
    if s3 is not None:
        console.print(
            f"  s3:// URIs go to {args.s3_endpoint_url}; upload there (this server answers no S3 calls)"
        )
    else:
        console.print(
            f"  S3 on the data root: aws --endpoint-url {url} s3 cp FILE s3://BUCKET/KEY", soft_wrap=True
        )
    console.print(
        f"  try: aws --endpoint-url {url} sagemaker list-training-jobs   |   console: {url}/", soft_wrap=True
    )
    serve(create_app(platform, host_names=machine_names(args.host, args.allow_host)), listener)
    return 0
