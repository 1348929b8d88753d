"""Making `.lst` image lists from class folders, as MXNet's `tools/im2rec.py --list` does.

Folders get labels in depth-first, sorted walk order, and the list is shuffled with `random.seed(100)`,
so the same photos give the same `.lst` files as MXNet's tool (docs/algorithm.md, "Lab 1").
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.errors import UserError
from roost.formats.image_list import ListEntry

DEFAULT_EXTS = (".jpeg", ".jpg", ".png")
SHUFFLE_SEED = 100


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
