"""An object's body as it arrives: into a hidden temporary file beside its place, digested on the way, and
moved into place only when whole and matching the digests the client sent (or removed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from roost.platform.errors import S3Error

MAX_OBJECT_BYTES = 5 * 1024**3  # the largest PutObject and the largest part
CHUNK = 1024 * 1024


def hidden(name: str) -> bool:
    """Whether a file name is a body still arriving (ours, or roost.atomic_file's): never an object."""
    return name.startswith(".") and name.endswith(".partial")


@dataclass(frozen=True)
class Expected:
    """Digests a client sent with a body (Content-MD5, x-amz-content-sha256, x-amz-checksum-crc32)."""

    md5_base64: str | None = None
    sha256_hex: str | None = None
    crc32_base64: str | None = None


def _md5_base64(text: str, header: str) -> bytes:
    try:
        digest = base64.b64decode(text, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise S3Error(400, "InvalidDigest", f"The {header} you specified was invalid.")
    return digest


class PendingObject:
    """A body being received into a hidden temporary file; `commit` checks its digests and moves it."""

    def __init__(self, destination: Path, expected: Expected) -> None:
        self.destination = destination
        self.expected = expected
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256() if expected.sha256_hex else None
        self._crc32 = 0
        self.size = 0
        if expected.md5_base64 is not None:
            _md5_base64(expected.md5_base64, "Content-MD5")
        fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
        self._temporary = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_OBJECT_BYTES:
            raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        self._md5.update(chunk)
        if self._sha256 is not None:
            self._sha256.update(chunk)
        if self.expected.crc32_base64 is not None:
            self._crc32 = zlib.crc32(chunk, self._crc32)
        self._file.write(chunk)

    def copy_from(self, source: BinaryIO, length: int) -> None:
        while length > 0:
            chunk = source.read(min(CHUNK, length))
            if not chunk:
                break
            self.write(chunk)
            length -= len(chunk)

    def _check(self) -> None:
        md5 = self._md5.digest()
        if self.expected.md5_base64 is not None and md5 != _md5_base64(
            self.expected.md5_base64, "Content-MD5"
        ):
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        if self._sha256 is not None and self._sha256.hexdigest() != self.expected.sha256_hex:
            raise S3Error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        if self.expected.crc32_base64 is not None:
            crc32 = base64.b64encode(self._crc32.to_bytes(4, "big")).decode()
            if crc32 != self.expected.crc32_base64:
                raise S3Error(
                    400, "BadDigest", "The CRC32 you specified did not match the calculated checksum."
                )

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    def commit(self) -> os.stat_result:
        """Check the digests, then put the file in its place; the temporary file is gone either way."""
        try:
            self._check()
            self._file.flush()
            os.fsync(self._file.fileno())
            # This body's own size and time (a rename keeps them): a concurrent PUT of the same key that
            # lands after it then differs from what is recorded for it, and gets its own ETag.
            stat = os.fstat(self._file.fileno())
            self._file.close()
            os.chmod(self._temporary, 0o644)
            try:
                os.replace(self._temporary, self.destination)
            except IsADirectoryError:
                raise S3Error(
                    409,
                    "InvalidArgument",
                    f"Keys under '{self.destination.name}/' exist: in roost's folder-backed buckets a key "
                    "cannot also be the folder of other keys",
                ) from None
            return stat
        finally:
            self.abort()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._temporary.unlink(missing_ok=True)
