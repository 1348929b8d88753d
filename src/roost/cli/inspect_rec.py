"""`roost inspect FILE.rec`: a readable summary of a RecordIO file and the first problem in it."""

from __future__ import annotations

import argparse
import json
from collections import Counter

HELP = "summarise a .rec file: records, labels, image sizes, header flags, index, first problem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.rec", help="RecordIO file(s) to inspect")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file instead")
    parser.add_argument(
        "--no-decode", dest="decode", action="store_false", help="skip decoding images (faster; no sizes)"
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from roost.cli.terminal import progress_callback
    from roost.prep.inspection import inspect_rec

    out = Console(highlight=False)
    failed = False
    for path in args.files:
        with progress_callback(f"reading {path}", "records", transient=True) as on_progress:
            summary = inspect_rec(path, decode=args.decode, on_progress=on_progress)
        failed |= summary.problem is not None
        if args.json:
            print(json.dumps(summary.as_json()))
            continue
        table = Table(title=f"{summary.path}", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        table.add_row("records", f"{summary.records}")
        table.add_row("file size", f"{summary.size_bytes:,} bytes")
        table.add_row("header flags", _counts({f"flag {k}": v for k, v in sorted(summary.flags.items())}))
        table.add_row("labels", _label_counts(summary.labels))
        if args.decode:
            table.add_row("image sizes (WxHxC)", _counts(dict(summary.image_sizes.most_common(8))))
        table.add_row("index", f"{summary.index or 'none'}: {summary.index_status}")
        table.add_row(
            "problem",
            f"[red]{escape(summary.problem)}[/red]" if summary.problem else "[green]none found[/green]",
        )
        out.print(table)
    return 1 if failed else 0


def _counts(counts: dict[str, int]) -> str:
    return "  ".join(f"{key}: {value}" for key, value in counts.items()) or "-"


def _label_counts(labels: Counter[str], shown: int = 12) -> str:
    ordered = sorted(labels.items(), key=_numeric_first)
    if len(ordered) <= shown:
        return _counts(dict(ordered))
    top = dict(sorted(labels.most_common(shown), key=_numeric_first))
    return f"{_counts(top)}  (+{len(ordered) - shown} more distinct labels)"


def _numeric_first(item: tuple[str, int]) -> tuple[float, str]:
    try:
        return float(item[0]), item[0]
    except ValueError:
        return float("inf"), item[0]
