"""What is inside a `.rec`: counts, labels, image sizes, header flags, index consistency, first problem."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from roost.errors import UserError
from roost.formats.image import DecodeError
from roost.formats.image import decode as decode_image
from roost.formats.recordio import RecordReader, index_path_for, read_index, scan_offsets, unpack

# (records read, records in the file or None when unknown): called after each record.
ProgressCallback = Callable[[int, int | None], None]


@dataclass
class RecordSummary:
    path: Path
    size_bytes: int
    records: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    image_sizes: Counter[str] = field(default_factory=Counter)
    flags: Counter[int] = field(default_factory=Counter)
    index: Path | None = None
    index_status: str = "absent"
    problem: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "records": self.records,
            "labels": dict(sorted(self.labels.items())),
            "image_sizes": dict(self.image_sizes.most_common()),
            "header_flags": {str(k): v for k, v in sorted(self.flags.items())},
            "index": str(self.index) if self.index else None,
            "index_status": self.index_status,
            "problem": self.problem,
        }


def _label_key(label: float | np.ndarray) -> str:
    if isinstance(label, np.ndarray):
        return "[" + ", ".join(f"{v:g}" for v in label) + "]"
    return f"{label:g}"


def _check_index(summary: RecordSummary, offsets: list[int]) -> None:
    index = index_path_for(summary.path)
    if not index.is_file():
        return
    summary.index = index
    try:
        keys, indexed = read_index(index)
    except UserError as error:
        summary.index_status = f"unreadable: {error}"
        return
    if sorted(indexed) == offsets and len(set(keys)) == len(keys):
        summary.index_status = f"consistent ({len(keys)} entries)"
        return
    stray = sorted(set(indexed) - set(offsets))
    if stray:
        summary.index_status = (
            f"inconsistent: {len(stray)} entries point where no record starts (first at byte {stray[0]})"
        )
    elif len(set(keys)) != len(keys):
        summary.index_status = "inconsistent: duplicate keys"
    else:
        summary.index_status = f"inconsistent: {len(indexed)} entries for {len(offsets)} records"


def inspect_rec(
    path: str | Path, decode: bool = True, on_progress: ProgressCallback | None = None
) -> RecordSummary:
    """Walk every record once; stop counting at the first problem and report it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    summary = RecordSummary(path=path, size_bytes=path.stat().st_size)
    try:
        offsets = scan_offsets(path)
    except UserError as error:
        summary.problem = str(error)
        offsets = []
    _check_index(summary, offsets)
    with RecordReader(path, index=False) as reader:
        try:
            for offset, record in reader.scan():
                try:
                    header, payload = unpack(record)
                except UserError as error:
                    raise UserError(
                        f"{path}: record {summary.records} at byte offset {offset}: {error}"
                    ) from None
                summary.flags[header.flag] += 1
                summary.labels[_label_key(header.label)] += 1
                if decode:
                    try:
                        image = decode_image(payload, None)
                    except DecodeError as error:
                        raise UserError(
                            f"{path}: record {summary.records} (id {header.id}) at byte offset {offset}: "
                            f"its image bytes do not decode: {error}"
                        ) from None
                    channels = 1 if image.ndim == 2 else image.shape[2]
                    summary.image_sizes[f"{image.shape[1]}x{image.shape[0]}x{channels}"] += 1
                summary.records += 1
                if on_progress is not None:
                    on_progress(summary.records, len(offsets) or None)
        except UserError as error:
            summary.problem = summary.problem or str(error)
    return summary
