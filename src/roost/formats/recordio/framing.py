"""dmlc-core RecordIO framing: how one logical record becomes one or more magic-prefixed parts.

Layout of a part: uint32 magic, uint32 (cflag << 29 | length), `length` bytes, zero padding to 4 bytes.
A payload that contains the magic at a 4-byte-aligned offset is split there and the magic dropped, exactly
as dmlc-core's `RecordIOWriter::WriteRecord` does; the reader puts it back.
"""

from __future__ import annotations

import struct
from enum import IntEnum

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size
# dmlc-core checks `size < 1 << 29` on the whole logical record.
MAX_RECORD_BYTES = (1 << 29) - 1
_LENGTH_MASK = (1 << 29) - 1


class CFlag(IntEnum):
    """Continuation flag in bits 29..31 of the length word."""

    WHOLE = 0
    FIRST = 1
    MIDDLE = 2
    LAST = 3


def padded(length: int) -> int:
    """Bytes a part of `length` payload bytes occupies after its header."""
    return (length + 3) & ~3


def encode_header(cflag: int, length: int) -> bytes:
    return HEADER.pack(MAGIC, (cflag << 29) | length)


def decode_header(word0: int, word1: int) -> tuple[bool, int, int]:
    """(magic ok, cflag, length) of a part header given as its two little-endian words."""
    return word0 == MAGIC, word1 >> 29, word1 & _LENGTH_MASK


def _aligned_magic_positions(payload: bytes) -> list[int]:
    positions = []
    limit = len(payload) & ~3
    at = payload.find(MAGIC_BYTES)
    while 0 <= at < limit:
        if at % 4 == 0:
            positions.append(at)
            at = payload.find(MAGIC_BYTES, at + 4)
        else:
            at = payload.find(MAGIC_BYTES, at + 1)
    return positions


def encode(payload: bytes | bytearray | memoryview) -> bytes:
    """The on-disk bytes of one logical record: its parts, headers and padding."""
    payload = bytes(payload)
    size = len(payload)
    if size > MAX_RECORD_BYTES:
        raise ValueError(
            f"record of {size} bytes is too large for RecordIO (at most {MAX_RECORD_BYTES} bytes, 2^29 - 1)"
        )
    pieces: list[bytes] = []
    start = 0
    for at in _aligned_magic_positions(payload):
        pieces.append(encode_header(CFlag.FIRST if start == 0 else CFlag.MIDDLE, at - start))
        pieces.append(payload[start:at])
        start = at + 4
    pieces.append(encode_header(CFlag.LAST if start else CFlag.WHOLE, size - start))
    pieces.append(payload[start:])
    pieces.append(b"\0" * (padded(size) - size))
    return b"".join(pieces)
