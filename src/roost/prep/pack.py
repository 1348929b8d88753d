"""Packing the images of a `.lst` into `.rec` + `.idx`, as MXNet's `im2rec.py` does (spec §3.4).

Decode, optional centre crop and resize, and re-encode use OpenCV with MXNet's arithmetic. Images that
cannot be read are skipped with a warning naming the file, whatever the number of worker processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from roost.errors import UserError
from roost.prep.image_list import ListEntry, read_list
from roost.recordio import IRHeader, RecordIOError, RecordWriter, pack, pack_img
from roost.terminal import progress_bar, warn


@dataclass(frozen=True)
class PackOptions:
    root: Path
    color: int = 1
    resize: int = 0
    center_crop: bool = False
    quality: int = 95
    encoding: str = ".jpg"
    pass_through: bool = False
    pack_label: bool = False


@dataclass(frozen=True)
class PackResult:
    rec: Path
    idx: Path
    written: int
    skipped: list[str]


def _square_centre(image: np.ndarray) -> np.ndarray:
    rows, cols = image.shape[:2]
    if rows > cols:
        margin = (rows - cols) // 2
        return image[margin : margin + cols, :]
    margin = (cols - rows) // 2
    return image[:, margin : margin + rows]


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to `size`, longer side `long * size // short` (the arithmetic of im2rec and of
    ImageRecordIter's `resize`), bilinear."""
    rows, cols = image.shape[:2]
    new = (size, rows * size // cols) if rows > cols else (cols * size // rows, size)
    return image if new == (cols, rows) else cv2.resize(image, new)


def encode_entry(entry: ListEntry, options: PackOptions) -> bytes | str:
    """The record for one list entry, or the reason it was skipped."""
    label: float | tuple[float, ...] = (
        entry.labels if len(entry.labels) > 1 and options.pack_label else entry.labels[0]
    )
    header = IRHeader(0, label, entry.index, 0)
    path = options.root / entry.path
    try:
        if options.pass_through:
            return pack(header, path.read_bytes())
        image = cv2.imread(str(path), options.color)
        if image is None:
            return "not a readable image" if path.is_file() else "no such file"
        if options.center_crop:
            image = _square_centre(image)
        if options.resize:
            image = resize_short_side(image, options.resize)
        return pack_img(header, image, quality=options.quality, img_fmt=options.encoding)
    except (OSError, ValueError, cv2.error) as error:
        return str(error).strip().splitlines()[-1]


def _encoded(entries: Sequence[ListEntry], options: PackOptions, workers: int) -> Iterator[bytes | str]:
    encode = partial(encode_entry, options=options)
    if workers <= 1:
        yield from map(encode, entries)
        return
    # Ordered results keep the .rec in list order, as MXNet's reorder buffer does.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(encode, entries, chunksize=8)


def pack_list(lst: Path, options: PackOptions, workers: int = 1) -> PackResult:
    """Write `<lst stem>.rec` and `.idx` beside the list; nothing appears under those names on failure."""
    entries = list(read_list(lst))
    rec, idx = lst.with_suffix(".rec"), lst.with_suffix(".idx")
    skipped: list[str] = []
    with RecordWriter(rec, idx) as writer, progress_bar("images") as bar:
        task = bar.add_task(f"packing {lst.name}", total=len(entries))
        for entry, record in zip(entries, _encoded(entries, options, workers), strict=True):
            try:
                if isinstance(record, str):
                    raise UserError(record)
                writer.write_idx(entry.index, record)
            except (UserError, RecordIOError) as error:
                skipped.append(entry.path)
                warn(f"skipped {options.root / entry.path}: {error}")
            bar.advance(task)
        written = writer.count
    return PackResult(rec, idx, written, skipped)


def lists_for_prefix(prefix: str | Path) -> list[Path]:
    """The `.lst` files im2rec packs for `prefix`: those in its folder whose path starts with it."""
    prefix = Path(prefix).absolute()
    folder = prefix if prefix.is_dir() else prefix.parent
    if not folder.is_dir():
        raise UserError(f"folder {folder} does not exist")
    found = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and str(path).startswith(str(prefix)) and path.suffix == ".lst"
    )
    if not found:
        raise UserError(
            f"no .lst file starting with {prefix} in {folder}: make the lists first with "
            "`roost im2rec --list --recursive PREFIX ROOT`"
        )
    return found
