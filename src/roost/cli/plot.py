"""`roost plot`: train and validation accuracy by epoch, to a PNG file."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "plot accuracy by epoch to a PNG, from a job's metrics, model.tar.gz or saved log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        type=Path,
        help="metrics.jsonl, a model.tar.gz, a job or model folder, or a text file of the job's log",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("accuracy.png"), help="the PNG to write")
    parser.add_argument("--title", help="the chart's title")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from roost.cli.accuracy_plot import plot, read_curve
    from roost.cli.terminal import console

    curve = read_curve(args.source)
    table = Table("epoch", "train accuracy", "validation accuracy")
    for epoch, train, validation in zip(curve.epochs, curve.train, curve.validation, strict=True):
        table.add_row(
            str(epoch),
            "-" if train is None else f"{train:.6f}",
            "-" if validation is None else f"{validation:.6f}",
        )
    Console().print(table)
    console.print(f"wrote {plot(curve, args.output, args.title)}")
    return 0
