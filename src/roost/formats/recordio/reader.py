"""Reading RecordIO files: sequentially (no index needed) or by position and key (with a `.idx`).

A reader reads with `os.pread` on a descriptor it opens in each process, so one reader can be handed to
many DataLoader worker processes at once (fork or spawn) without sharing a file position.
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from roost.formats.recordio.errors import RecordIOError
from roost.formats.recordio.framing import (
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAGIC_BYTES,
    CFlag,
    decode_header,
    padded,
)
from roost.formats.recordio.index import index_path_for, read_index

# One pread covers a whole record when the index tells its extent and it is no larger than this.
_PREFETCH_LIMIT = 4 << 20


class _Stream(Protocol):
    def read(self, size: int, /) -> bytes: ...


class _Window:
    """Reads forward from a byte offset of a descriptor, out of one prefetched block where it can."""

    def __init__(self, fd: int, offset: int, prefetch: int) -> None:
        self.fd = fd
        self.base = self.pos = offset
        self.block = os.pread(fd, prefetch, offset) if prefetch > 0 else b""

    def read(self, size: int) -> bytes:
        start = self.pos - self.base
        if start + size <= len(self.block):
            data = self.block[start : start + size]
        else:
            data = os.pread(self.fd, size, self.pos)
        self.pos += len(data)
        return data


def _part(head: bytes, pos: int, source: str | Path) -> tuple[int, int]:
    """(cflag, length) of the part header `head` read at byte `pos`."""
    if len(head) < HEADER_SIZE:
        raise RecordIOError(
            f"{source}: truncated record at byte offset {pos}: the file ends inside a record header "
            f"({len(head)} of {HEADER_SIZE} bytes); the file was cut short, re-create or re-copy it"
        )
    magic_ok, cflag, length = decode_header(*HEADER.unpack(head))
    if not magic_ok:
        word = int.from_bytes(head[:4], "little")
        raise RecordIOError(
            f"{source}: no RecordIO magic at byte offset {pos} (found 0x{word:08x}, expected "
            f"0x{MAGIC:08x}): not an MXNet RecordIO file, or corrupted at that point"
        )
    return cflag, length


def _truncated(source: str | Path, pos: int, length: int, remaining: int) -> RecordIOError:
    return RecordIOError(
        f"{source}: truncated record at byte offset {pos}: its header announces {length} bytes but only "
        f"{remaining} remain; the file was cut short, re-create or re-copy it"
    )


def _out_of_sequence(source: str | Path, pos: int, cflag: int, first: bool) -> RecordIOError:
    where = "a record's first part" if first else "a continuation part"
    return RecordIOError(
        f"{source}: corrupted record at byte offset {pos}: continuation flag {cflag} where {where} "
        "was expected"
    )


def read_record(stream: _Stream, offset: int, source: str | Path) -> tuple[bytes, int] | None:
    """The logical record starting at `offset` (where `stream` is positioned) and the offset after it.

    None at a clean end of the stream. `offset` only serves the error messages.
    """
    parts: list[bytes] = []
    pos = offset
    while True:
        head = stream.read(HEADER_SIZE)
        if not head and not parts:
            return None
        cflag, length = _part(head, pos, source)
        if cflag not in ((CFlag.MIDDLE, CFlag.LAST) if parts else (CFlag.WHOLE, CFlag.FIRST)):
            raise _out_of_sequence(source, pos, cflag, first=not parts)
        body = stream.read(padded(length))
        if len(body) < length:
            raise _truncated(source, pos, length, len(body))
        parts.append(body[:length])
        pos += HEADER_SIZE + len(body)
        if cflag in (CFlag.WHOLE, CFlag.LAST):
            return b"".join(parts), pos
        # The writer dropped the magic where it split the payload; put it back.
        parts.append(MAGIC_BYTES)


def _walk(data: mmap.mmap | bytes, source: str | Path, problems: list[str] | None) -> list[int]:
    """Record offsets found by walking part headers; with `problems`, corrupt stretches are skipped."""
    offsets: list[int] = []
    size = len(data)
    pos = 0
    start = -1  # offset of the split record being walked, -1 between records
    while pos < size:
        try:
            cflag, length = _part(data[pos : pos + HEADER_SIZE], pos, source)
            if cflag not in ((CFlag.MIDDLE, CFlag.LAST) if start >= 0 else (CFlag.WHOLE, CFlag.FIRST)):
                raise _out_of_sequence(source, pos, cflag, first=start < 0)
            if pos + HEADER_SIZE + length > size:
                raise _truncated(source, pos, length, size - pos - HEADER_SIZE)
        except RecordIOError as error:
            if problems is None:
                raise
            problems.append(str(error))
            # Resynchronise as dmlc-core's chunked readers do: the next aligned magic that starts a record.
            pos = _next_record_start(data, (max(start, pos) + 4) & ~3)
            start = -1
            continue
        if cflag in (CFlag.WHOLE, CFlag.FIRST):
            start = pos
        if cflag in (CFlag.WHOLE, CFlag.LAST):
            offsets.append(start)
            start = -1
        pos += HEADER_SIZE + padded(length)
    if start >= 0:
        error = RecordIOError(f"{source}: truncated record at byte offset {start}: the file ends inside it")
        if problems is None:
            raise error
        problems.append(str(error))
    return offsets


def _next_record_start(data: mmap.mmap | bytes, pos: int) -> int:
    while (pos := data.find(MAGIC_BYTES, pos)) >= 0:
        if pos % 4 == 0 and pos + HEADER_SIZE <= len(data):
            _, cflag, _ = decode_header(*HEADER.unpack(data[pos : pos + HEADER_SIZE]))
            if cflag in (CFlag.WHOLE, CFlag.FIRST):
                return pos
        pos += 1
    return len(data)


def scan_offsets(path: str | Path, problems: list[str] | None = None) -> list[int]:
    """Byte offsets of every logical record, found by walking the part headers (no index needed).

    Without `problems` the first problem raises; with it, problems are appended there and the walk
    skips to the next record it can find.
    """
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return []
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _walk(data, path, problems)


class RecordReader:
    """A `.rec` file: `len()`, iteration in file order, `reader[i]`, and `read_key(k)` with an index.

    `index` is the `.idx` path; by default the one beside the file is used when it exists. Pass
    `index=False` to ignore any index (positions are then found by walking the file once).
    """

    def __init__(self, path: str | Path, index: str | Path | bool | None = None) -> None:
        self._fd: int | None = None
        self._pid = -1
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordIOError(f"{self.path}: no such RecordIO file")
        self.size = self.path.stat().st_size
        if index is None:
            candidate = index_path_for(self.path)
            self.index_path: Path | None = candidate if candidate.is_file() else None
        elif index is False or index is True:
            self.index_path = index_path_for(self.path) if index else None
        else:
            self.index_path = Path(index)
        self._keys: list[int] | None = None
        self._offsets: list[int] | None = None
        self._by_key: dict[int, int] | None = None
        self._ends: list[int] | None = None
        if self.index_path is not None:
            self._load_index(self.index_path)

    def _load_index(self, index_path: Path) -> None:
        if not index_path.is_file():
            raise RecordIOError(f"{index_path}: no such index file")
        keys, offsets = read_index(index_path)
        for key, offset in zip(keys, offsets, strict=True):
            if offset >= self.size:
                raise RecordIOError(
                    f"{index_path}: key {key} points at byte offset {offset}, past the end of {self.path} "
                    f"({self.size} bytes): the index does not belong to this file; rebuild both with "
                    "`roost im2rec` or delete the .idx"
                )
        self._keys, self._offsets = keys, offsets
        self._by_key = dict(zip(keys, offsets, strict=True))

    # -- positions -------------------------------------------------------------------------------------
    @property
    def offsets(self) -> list[int]:
        """Byte offset of each record, in index order (or file order without an index)."""
        if self._offsets is None:
            self._offsets = scan_offsets(self.path)
        return self._offsets

    @property
    def keys(self) -> list[int] | None:
        """The index's keys, in its order; None when the file has no index."""
        return self._keys

    def __len__(self) -> int:
        return len(self.offsets)

    # -- reading ---------------------------------------------------------------------------------------
    def _descriptor(self) -> int:
        # A descriptor per process: after a fork the parent's descriptor is not ours to use.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDONLY)
            self._pid = os.getpid()
        return self._fd

    def _extent(self, offset: int) -> int:
        if self._ends is None:
            # Only a prefetch size: a damaged stretch elsewhere in the file must not stop this record's read.
            known = self._offsets if self._offsets is not None else scan_offsets(self.path, [])
            self._ends = sorted(set(known))
        at = bisect.bisect_right(self._ends, offset)
        end = self._ends[at] if at < len(self._ends) else self.size
        return end - offset

    def read_at(self, offset: int, what: str = "") -> bytes:
        """The record whose first part starts at byte `offset`."""
        window = _Window(self._descriptor(), offset, min(self._extent(offset), _PREFETCH_LIMIT))
        source = f"{self.path}{what}"
        found = read_record(window, offset, source)
        if found is None:
            raise RecordIOError(f"{source}: no record at byte offset {offset}, past the end of the file")
        return found[0]

    def read_head_at(self, offset: int, size: int) -> bytes:
        """The first `size` bytes of the record at `offset` (all of it if shorter), reading no more."""
        data = os.pread(self._descriptor(), HEADER_SIZE + size, offset)
        cflag, length = _part(data[:HEADER_SIZE], offset, self.path)
        if cflag not in (CFlag.WHOLE, CFlag.FIRST):
            raise _out_of_sequence(self.path, offset, cflag, first=True)
        if cflag == CFlag.WHOLE or length >= size:
            return data[HEADER_SIZE : HEADER_SIZE + min(size, length)]
        return self.read_at(offset)[:size]

    def __getitem__(self, position: int) -> bytes:
        offset = self.offsets[position]
        what = f" (record {position}" + (f", index key {self._keys[position]})" if self._keys else ")")
        return self.read_at(offset, what)

    def read_key(self, key: int) -> bytes:
        """The record stored under `key` in the `.idx` (MXIndexedRecordIO.read_idx)."""
        if self._by_key is None:
            raise RecordIOError(f"{self.path}: reading by key needs an index (.idx) file, and there is none")
        if key not in self._by_key:
            raise RecordIOError(f"{self.index_path}: no record with key {key}")
        return self.read_at(self._by_key[key], f" (index key {key})")

    def __iter__(self) -> Iterator[bytes]:
        """Every record in file order, read sequentially through a buffer; needs no index."""
        for _, record in self.scan():
            yield record

    def scan(self) -> Iterator[tuple[int, bytes]]:
        """(byte offset, record) for every record in file order."""
        with open(self.path, "rb", buffering=1 << 20) as file:
            yield from iter_records(file, self.path)

    # -- life cycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_fd"], state["_pid"] = None, -1
        return state

    def __del__(self) -> None:
        self.close()


def iter_records(stream: _Stream, source: str | Path) -> Iterator[tuple[int, bytes]]:
    """(byte offset, record) read one after another from an open binary stream (a file, a pipe)."""
    offset = 0
    while (found := read_record(stream, offset, source)) is not None:
        record, end = found
        yield offset, record
        offset = end
