"""The `roost` command: one sub-command per user task, each in its own module.

A sub-command module defines `HELP`, `add_arguments(parser)` and `run(args) -> int`. Only the module of the
command being run is imported, so `roost --help` and light commands start fast (no torch import).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from roost import __version__
from roost.errors import UserError

# name -> module under roost.cli; the order is the order of `roost --help`.
COMMANDS: dict[str, str] = {
    "quickstart": "quickstart",
    "im2rec": "im2rec",
    "inspect": "inspect_rec",
    "train": "train",
    "plot": "plot",
    "predict": "predict",
    "serve": "model_server",
    "server": "platform_server",
    "jobs": "jobs",
    "logs": "logs",
    "algorithm": "algorithm",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"roost.cli.{COMMANDS[name]}")


def _parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roost",
        description="SageMaker's built-in Image Classification, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"roost {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if name == chosen:
            module = _load(name)
            sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
        else:
            commands.add_parser(name, help=_load(name).HELP if chosen is None else None, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = _parser(chosen if chosen in COMMANDS else None).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        from rich.markup import escape

        from roost.cli.terminal import console

        console.print(f"[bold red]error:[/bold red] {escape(str(error))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        return 130
