"""`.lst` image lists, read and written exactly as MXNet's `tools/im2rec.py` does (docs/algorithm.md).

A line is `index<TAB>label[<TAB>label...]<TAB>relative/path`; labels are written with `%f`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from roost.atomic_file import write_text_atomically

log = logging.getLogger("roost.formats")


@dataclass(frozen=True)
class ListEntry:
    """One image of a list: its record id, path relative to the image root, and label(s)."""

    index: int
    path: str
    labels: tuple[float, ...]


def format_line(entry: ListEntry) -> str:
    return f"{entry.index}\t" + "".join(f"{label:f}\t" for label in entry.labels) + f"{entry.path}\n"


def write_list(path: str | Path, entries: Iterable[ListEntry]) -> None:
    """Write a `.lst` atomically (a reader never sees half a list)."""
    write_text_atomically(Path(path), "".join(format_line(entry) for entry in entries))


def read_list(path: str | Path, skipped: list[str] | None = None) -> list[ListEntry]:
    """Entries of a `.lst`. A malformed line is skipped: its reason, naming the file and line, goes to
    `skipped` when given, else to the `roost.formats` log."""
    entries: list[ListEntry] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            fields = [field.strip() for field in line.strip().split("\t")]
            try:
                if len(fields) < 3:
                    raise ValueError(
                        "a .lst line needs at least 3 tab-separated fields (index, label, path), this one "
                        f"has {len(fields)}"
                    )
                entries.append(ListEntry(int(fields[0]), fields[-1], tuple(float(f) for f in fields[1:-1])))
            except ValueError as error:
                reason = f"{path}, line {number}: skipped: {error}: {line.rstrip()!r}"
                if skipped is None:
                    log.warning(reason)
                else:
                    skipped.append(reason)
    return entries
