"""Writing RecordIO files atomically: nothing appears under the final names until `close()` succeeds.

An interrupted or failed write leaves only `*.partial` files (removed on a clean failure), never a `.rec`
that looks complete.
"""

from __future__ import annotations

import os
from pathlib import Path

from roost.formats.recordio.errors import RecordIOError
from roost.formats.recordio.framing import MAX_RECORD_BYTES, encode
from roost.formats.recordio.index import format_entry


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


class RecordWriter:
    """Appends records to `path` and, when `index_path` is given, their keys and offsets to an `.idx`."""

    def __init__(self, path: str | Path, index_path: str | Path | None = None) -> None:
        self.path = Path(path)
        self.index_path = Path(index_path) if index_path is not None else None
        self._file = open(_partial(self.path), "wb")  # noqa: SIM115 - closed in close()/abort()
        self._index = (
            open(_partial(self.index_path), "w", encoding="utf-8")  # noqa: SIM115
            if self.index_path is not None
            else None
        )
        self.count = 0

    def tell(self) -> int:
        return self._file.tell()

    def write(self, record: bytes) -> int:
        """Write one record; returns the byte offset where it starts."""
        offset = self._file.tell()
        if len(record) > MAX_RECORD_BYTES:
            raise RecordIOError(
                f"{self.path}: the record at byte offset {offset} would be {len(record)} bytes, over "
                f"RecordIO's limit of {MAX_RECORD_BYTES} bytes (2^29 - 1); store smaller images "
                "(e.g. im2rec --resize)"
            )
        self._file.write(encode(record))
        self.count += 1
        return offset

    def write_idx(self, key: int, record: bytes) -> int:
        """Write one record and its index entry (MXIndexedRecordIO.write_idx)."""
        if self._index is None:
            raise ValueError("write_idx needs a writer opened with an index_path")
        offset = self.write(record)
        self._index.write(format_entry(key, offset))
        return offset

    def close(self) -> None:
        """Flush to disk and move the files to their final names (the .rec first, then its index)."""
        if self._file.closed:
            return
        for handle in (self._file, self._index):
            if handle is not None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
        os.replace(_partial(self.path), self.path)
        if self.index_path is not None:
            os.replace(_partial(self.index_path), self.index_path)

    def abort(self) -> None:
        """Drop everything written so far."""
        for handle, path in ((self._file, self.path), (self._index, self.index_path)):
            if handle is not None and path is not None:
                handle.close()
                _partial(path).unlink(missing_ok=True)

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
