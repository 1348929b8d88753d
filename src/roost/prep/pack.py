"""Packing the images of a `.lst` into `.rec` + `.idx`, as MXNet's `im2rec.py` does (docs/algorithm.md).

Decode, optional centre crop and resize, and re-encode use OpenCV with MXNet's arithmetic. Images that
cannot be read are skipped, whatever the number of worker processes; the result names each one and why,
and the caller says so (this module never prints).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from roost.errors import UserError
from roost.formats.image import DecodeError, resize_short_side
from roost.formats.image_list import ListEntry, read_list
from roost.formats.recordio import IRHeader, RecordIOError, RecordWriter, pack, pack_img

# (images done, images in the list): called after each image, for a progress bar.
ProgressCallback = Callable[[int, int], None]


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
    skipped: list[str]  # "<image path>: <reason>" for each image left out
    list_problems: list[str]  # malformed .lst lines, each naming the file and line


def _square_centre(image: np.ndarray) -> np.ndarray:
    rows, cols = image.shape[:2]
    if rows > cols:
        margin = (rows - cols) // 2
        return image[margin : margin + cols, :]
    margin = (cols - rows) // 2
    return image[:, margin : margin + rows]


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
    except (OSError, ValueError, cv2.error, DecodeError) as error:
        return str(error).strip().splitlines()[-1]


def _encoded(entries: Sequence[ListEntry], options: PackOptions, workers: int) -> Iterator[bytes | str]:
    encode = partial(encode_entry, options=options)
    if workers <= 1:
        yield from map(encode, entries)
        return
    # Ordered results keep the .rec in list order, as MXNet's reorder buffer does.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(encode, entries, chunksize=8)


def pack_list(
    lst: Path, options: PackOptions, workers: int = 1, on_progress: ProgressCallback | None = None
) -> PackResult:
    """Write `<lst stem>.rec` and `.idx` beside the list; nothing appears under those names on failure."""
    list_problems: list[str] = []
    entries = read_list(lst, list_problems)
    rec, idx = lst.with_suffix(".rec"), lst.with_suffix(".idx")
    skipped: list[str] = []
    with RecordWriter(rec, idx) as writer:
        for done, (entry, record) in enumerate(
            zip(entries, _encoded(entries, options, workers), strict=True), start=1
        ):
            try:
                if isinstance(record, str):
                    raise UserError(record)
                writer.write_idx(entry.index, record)
            except (UserError, RecordIOError) as error:
                skipped.append(f"{options.root / entry.path}: {error}")
            if on_progress is not None:
                on_progress(done, len(entries))
        written = writer.count
    return PackResult(rec, idx, written, skipped, list_problems)


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
