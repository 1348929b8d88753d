"""`.lst` image lists: made from class folders and read back exactly as MXNet's `tools/im2rec.py` does.

A line is `index<TAB>label[<TAB>label...]<TAB>relative/path`; labels are written with `%f`. Folders get
labels in depth-first, sorted walk order, and the list is shuffled with `random.seed(100)`, so the same
photos give the same `.lst` files as MXNet's tool (spec §3.4).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.atomic_file import write_text_atomically
from roost.errors import UserError
from roost.terminal import warn

DEFAULT_EXTS = (".jpeg", ".jpg", ".png")
SHUFFLE_SEED = 100


@dataclass(frozen=True)
class ListEntry:
    """One image of a list: its record id, path relative to the image root, and label(s)."""

    index: int
    path: str
    labels: tuple[float, ...]


@dataclass(frozen=True)
class ImageListing:
    entries: list[ListEntry]
    # Class folder (relative to the root) -> label, in label order; empty without --recursive.
    classes: dict[str, int]


def list_images(root: str | Path, recursive: bool, exts: Sequence[str] = DEFAULT_EXTS) -> ImageListing:
    """Every image under `root`, numbered in walk order; with `recursive`, one label per class folder."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise UserError(f"image folder {root} does not exist (or is not a folder)")
    # Like MXNet, the file's suffix is lower-cased and the given extensions are not.
    exts = tuple(exts)
    entries: list[ListEntry] = []
    classes: dict[str, int] = {}
    if recursive:
        for path, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(path, name)
                if os.path.splitext(name)[1].lower() in exts and os.path.isfile(full):
                    label = classes.setdefault(os.path.relpath(path, root), len(classes))
                    entries.append(ListEntry(len(entries), os.path.relpath(full, root), (float(label),)))
    else:
        for name in sorted(os.listdir(root)):
            full = os.path.join(root, name)
            if os.path.splitext(name)[1].lower() in exts and os.path.isfile(full):
                entries.append(ListEntry(len(entries), os.path.relpath(full, root), (0.0,)))
    if not entries:
        where = "under" if recursive else "directly in"
        hint = " (file suffixes are compared in lower case)" if any(e != e.lower() for e in exts) else ""
        hint += "" if recursive else " (class folders need --recursive)"
        raise UserError(f"no images with extensions {' '.join(exts)} {where} {root}{hint}")
    return ImageListing(entries, classes)


def format_line(entry: ListEntry) -> str:
    return f"{entry.index}\t" + "".join(f"{label:f}\t" for label in entry.labels) + f"{entry.path}\n"


def write_list(path: str | Path, entries: Iterable[ListEntry]) -> None:
    """Write a `.lst` atomically (a reader never sees half a list)."""
    write_text_atomically(Path(path), "".join(format_line(entry) for entry in entries))


def split_lists(
    prefix: str,
    entries: list[ListEntry],
    *,
    shuffle: bool = True,
    chunks: int = 1,
    train_ratio: float = 1.0,
    test_ratio: float = 0.0,
) -> dict[str, list[ListEntry]]:
    """The `.lst` files MXNet's `make_list` writes, as {file name: entries}, in its order."""
    entries = list(entries)
    if shuffle:
        random.Random(SHUFFLE_SEED).shuffle(entries)
    chunk_size = (len(entries) + chunks - 1) // chunks
    lists: dict[str, list[ListEntry]] = {}
    for i in range(chunks):
        chunk = entries[i * chunk_size : (i + 1) * chunk_size]
        stem = prefix + (f"_{i}" if chunks > 1 else "")
        sep = int(chunk_size * train_ratio)
        sep_test = int(chunk_size * test_ratio)
        if train_ratio == 1.0:
            lists[stem + ".lst"] = chunk
            continue
        if test_ratio:
            lists[stem + "_test.lst"] = chunk[:sep_test]
        if train_ratio + test_ratio < 1.0:
            lists[stem + "_val.lst"] = chunk[sep_test + sep :]
        lists[stem + "_train.lst"] = chunk[sep_test : sep_test + sep]
    return lists


def read_list(path: str | Path) -> Iterator[ListEntry]:
    """Entries of a `.lst`; malformed lines are skipped with a warning naming the file and line."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            fields = [field.strip() for field in line.strip().split("\t")]
            if len(fields) < 3:
                warn(
                    f"{path}, line {number}: skipped: a .lst line needs at least 3 tab-separated fields "
                    f"(index, label, path), this one has {len(fields)}: {line.rstrip()!r}"
                )
                continue
            try:
                yield ListEntry(int(fields[0]), fields[-1], tuple(float(f) for f in fields[1:-1]))
            except ValueError as error:
                warn(f"{path}, line {number}: skipped: {error}: {line.rstrip()!r}")
