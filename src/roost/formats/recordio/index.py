"""The `.idx` companion file: one `key<TAB>byte offset` line per record, as MXIndexedRecordIO writes it."""

from __future__ import annotations

from pathlib import Path

from roost.formats.recordio.errors import RecordIOError


def index_path_for(rec_path: str | Path) -> Path:
    """Where im2rec puts the index of `rec_path`: same name, `.idx` suffix."""
    return Path(rec_path).with_suffix(".idx")


def format_entry(key: int, offset: int) -> str:
    return f"{key}\t{offset}\n"


def read_index(path: str | Path) -> tuple[list[int], list[int]]:
    """Keys and offsets, in the order of the file's lines (MXNet parses keys as int)."""
    keys: list[int] = []
    offsets: list[int] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RecordIOError(f"{path}: not a RecordIO index (not text: {error.reason})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            if len(fields) != 2:
                raise ValueError
            keys.append(int(fields[0]))
            offsets.append(int(fields[1]))
        except ValueError:
            raise RecordIOError(
                f"{path}, line {number}: expected 'key<TAB>byte offset' with two integers, got {line!r}"
            ) from None
        if offsets[-1] < 0:
            raise RecordIOError(f"{path}, line {number}: negative byte offset {offsets[-1]}")
    return keys, offsets
