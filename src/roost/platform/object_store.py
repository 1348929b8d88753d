"""S3 buckets and objects on the data root: bucket BUCKET is the folder DATA_ROOT/BUCKET, key K its file K.

So what `aws s3 cp` uploads is where a training job's `s3://BUCKET/K` channel reads it, and a job's model is
an object as soon as it is written. An object appears only when complete: it is written to a hidden
temporary file beside its place (`.NAME.XXXX.partial`, never listed) and renamed. ETags, content types and
user metadata live in the store, valid while the file's size and modification time are the ones recorded;
a file put there by other means gets the MD5 of its bytes when first asked. Multipart uploads keep their
parts under the state directory until CompleteMultipartUpload joins them into the object.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from roost.errors import UserError
from roost.platform.storage import BUCKET_NAME
from roost.platform.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS s3_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    initiated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS s3_parts (
    upload_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (upload_id, number)
);
"""
DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 answers for an object stored without one
MAX_OBJECT_BYTES = 5 * 1024**3  # the largest PutObject and the largest part
MIN_PART_BYTES = 5 * 1024**2  # every part but the last
MAX_PARTS = 10_000
MAX_KEY_BYTES = 1024
_CHUNK = 1024 * 1024


class S3Error(UserError):
    """An S3 error: its code (NoSuchKey, BadDigest, ...), HTTP status, message and what it is about."""

    def __init__(self, status: int, code: str, message: str, resource: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.resource = status, code, message, resource


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # without quotes
    last_modified: float
    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Expected:
    """Digests a client sent with a body (Content-MD5, x-amz-content-sha256, x-amz-checksum-crc32)."""

    md5_base64: str | None = None
    sha256_hex: str | None = None
    crc32_base64: str | None = None


@dataclass(frozen=True)
class Listing:
    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or common prefix of the page: where the next page starts


def _hidden(name: str) -> bool:
    # Temporary files of uploads in progress (ours and roost.atomic_file's) are never objects.
    return name.startswith(".") and name.endswith(".partial")


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
            chunk = source.read(min(_CHUNK, length))
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


class ObjectStore:
    """Buckets, objects and multipart uploads over a storage's data root and the platform's store."""

    def __init__(self, data_root: Path, store: Store, uploads_dir: Path) -> None:
        self.root = data_root.resolve()
        self.store = store
        self.uploads_dir = uploads_dir
        store.ensure_schema(_SCHEMA)

    # -- buckets -----------------------------------------------------------------------------------------

    def _bucket_dir(self, bucket: str, *, must_exist: bool = True) -> Path:
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", bucket)
        folder = self.root / bucket
        if must_exist and not (folder.is_dir() and folder.resolve().is_relative_to(self.root)):
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
        return folder

    def create_bucket(self, bucket: str) -> None:
        folder = self._bucket_dir(bucket, must_exist=False)
        try:
            folder.mkdir()
        except FileExistsError:
            raise S3Error(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                bucket,
            ) from None

    def head_bucket(self, bucket: str) -> None:
        self._bucket_dir(bucket)

    def delete_bucket(self, bucket: str) -> None:
        folder = self._bucket_dir(bucket)
        if next(self._files(folder, folder), None) is not None:
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", bucket)
        shutil.rmtree(folder)
        with self.store.write() as db:
            db.execute("DELETE FROM s3_objects WHERE bucket = ?", (bucket,))

    def buckets(self) -> list[tuple[str, float]]:
        """(name, creation time) of every folder of the data root that is a valid bucket name."""
        return [
            (entry.name, entry.stat().st_ctime)
            for entry in sorted(self.root.iterdir())
            if BUCKET_NAME.match(entry.name) and entry.is_dir()
        ]

    # -- objects -----------------------------------------------------------------------------------------

    def _path(self, bucket: str, key: str) -> Path:
        """The file of `key`; S3Error for keys that cannot be one (they would leave the bucket, say)."""
        folder = self._bucket_dir(bucket)
        if not key:
            raise S3Error(400, "InvalidArgument", "An object key must not be empty", bucket)
        if len(key.encode()) > MAX_KEY_BYTES:
            raise S3Error(400, "KeyTooLongError", "Your key is too long", f"/{bucket}/{key}")
        if "\0" in key:
            raise S3Error(400, "InvalidArgument", "Object keys cannot hold the NUL character", f"/{bucket}")
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            raise S3Error(
                400,
                "InvalidArgument",
                f"The key '{key}' has an empty, '.' or '..' path segment: roost stores keys as files under "
                f"the bucket's folder, and such a key would name a file outside it or none",
                f"/{bucket}/{key}",
            )
        if _hidden(parts[-1]):
            raise S3Error(
                400,
                "InvalidArgument",
                f"Keys ending in a '.NAME.partial' segment are roost's uploads in progress: rename '{key}'",
                f"/{bucket}/{key}",
            )
        path = folder.joinpath(*parts)
        if not path.resolve().is_relative_to(folder.resolve()):
            raise S3Error(
                400,
                "InvalidArgument",
                f"The key '{key}' leads out of the bucket's folder",
                f"/{bucket}/{key}",
            )
        return path

    def _info(self, bucket: str, key: str, path: Path) -> ObjectInfo:
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            stat = None
        if stat is None or not path.is_file():
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", f"/{bucket}/{key}")
        rows = self.store.read(
            "SELECT * FROM s3_objects WHERE bucket = ? AND key = ? AND size = ? AND mtime_ns = ?",
            (bucket, key, stat.st_size, stat.st_mtime_ns),
        )
        if rows:
            row = rows[0]
            return ObjectInfo(
                bucket,
                key,
                stat.st_size,
                row["etag"],
                stat.st_mtime,
                row["content_type"],
                json.loads(row["metadata"]),
            )
        digest = hashlib.md5()
        with open(path, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
        info = ObjectInfo(bucket, key, stat.st_size, digest.hexdigest(), stat.st_mtime)
        self._remember(info, stat)
        return info

    def _remember(self, info: ObjectInfo, stat: os.stat_result) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO s3_objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    info.bucket,
                    info.key,
                    stat.st_size,
                    stat.st_mtime_ns,
                    info.etag,
                    info.content_type,
                    json.dumps(dict(info.metadata)),
                ),
            )

    def open(self, bucket: str, key: str) -> tuple[ObjectInfo, Path]:
        path = self._path(bucket, key)
        return self._info(bucket, key, path), path

    def begin(self, bucket: str, key: str, expected: Expected = Expected()) -> PendingObject:
        """Start receiving a new body for `key` (PutObject, CopyObject)."""
        if key.endswith("/"):
            raise S3Error(
                400,
                "InvalidArgument",
                f"The key '{key}' ends with '/': roost's buckets are folders, so such a key can only be an "
                "empty folder marker (send it with no body)",
                f"/{bucket}/{key}",
            )
        path = self._path(bucket, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise S3Error(
                409,
                "InvalidArgument",
                f"A key above '{key}' is an object: in roost's folder-backed buckets an object cannot also "
                "be the folder of other keys",
                f"/{bucket}/{key}",
            ) from None
        return PendingObject(path, expected)

    def commit(
        self,
        pending: PendingObject,
        bucket: str,
        key: str,
        content_type: str | None,
        metadata: Mapping[str, str],
        etag: str | None = None,
    ) -> ObjectInfo:
        """Make a received body the object `key`, with its ETag (the body's MD5 unless given) and metadata."""
        stat = pending.commit()
        info = ObjectInfo(
            bucket,
            key,
            stat.st_size,
            etag or pending.md5_hex,
            stat.st_mtime,
            content_type or DEFAULT_CONTENT_TYPE,
            dict(metadata),
        )
        self._remember(info, stat)
        return info

    def make_folder(self, bucket: str, key: str) -> None:
        """A zero-byte `key/` (a console's "folder"): the folder, which holds no object of its own."""
        try:
            self._path(bucket, key).mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise S3Error(
                409, "InvalidArgument", f"'{key}' or a key above it is an object", f"/{bucket}/{key}"
            ) from None

    def delete(self, bucket: str, key: str) -> None:
        """Remove `key` if it exists (S3 answers success either way) and the folders it leaves empty."""
        path = self._path(bucket, key)
        folder = path if key.endswith("/") else path.parent
        if not key.endswith("/") and (path.is_file() or path.is_symlink()):
            path.unlink()
        with self.store.write() as db:
            db.execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, key))
        bucket_dir = self.root / bucket
        while folder != bucket_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    # -- listing -----------------------------------------------------------------------------------------

    def _files(self, start: Path, bucket_dir: Path) -> Iterator[str]:
        """Keys of the files under `start`, in no particular order."""
        for folder, _dirs, names in os.walk(start):
            relative = Path(folder).relative_to(bucket_dir).as_posix()
            for name in names:
                path = Path(folder, name)
                if _hidden(name) or not path.is_file():
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(bucket_dir.resolve()):
                    continue  # as for reading a key: a link that leads out of the bucket is no object
                yield name if relative == "." else f"{relative}/{name}"

    def list(
        self, bucket: str, prefix: str = "", delimiter: str = "", after: str = "", limit: int = 1000
    ) -> Listing:
        """Keys after `after` that start with `prefix`, in UTF-8 order, with keys that share a part up to
        the delimiter rolled up into common prefixes; at most `limit` objects and prefixes together."""
        bucket_dir = self._bucket_dir(bucket)
        folder = prefix.rpartition("/")[0]
        start = bucket_dir.joinpath(*folder.split("/")) if folder else bucket_dir
        keys: Iterable[str] = ()
        if start.is_dir() and start.resolve().is_relative_to(bucket_dir.resolve()):
            keys = sorted(
                (k for k in self._files(start, bucket_dir) if k.startswith(prefix) and k > after),
                key=lambda k: k.encode(),
            )
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        for key in keys:
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if prefixes and prefixes[-1] == common:
                        continue
                    if after.startswith(common):  # the page before ended inside this prefix
                        continue
                    if len(objects) + len(prefixes) == limit:
                        return Listing(objects, prefixes, True, last)
                    prefixes.append(common)
                    last = common
                    continue
            if len(objects) + len(prefixes) == limit:
                return Listing(objects, prefixes, True, last)
            try:
                objects.append(self._info(bucket, key, bucket_dir.joinpath(*key.split("/"))))
            except S3Error:  # deleted while we listed
                continue
            last = key
        return Listing(objects, prefixes, False, last)

    # -- multipart uploads -------------------------------------------------------------------------------

    def create_upload(
        self, bucket: str, key: str, content_type: str | None, metadata: Mapping[str, str]
    ) -> str:
        self._path(bucket, key)
        upload_id = uuid.uuid4().hex
        (self.uploads_dir / upload_id).mkdir(parents=True)
        with self.store.write() as db:
            db.execute(
                "INSERT INTO s3_uploads VALUES (?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    bucket,
                    key,
                    content_type or DEFAULT_CONTENT_TYPE,
                    json.dumps(dict(metadata)),
                    time.time(),
                ),
            )
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> dict[str, str]:
        rows = self.store.read(
            "SELECT * FROM s3_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key),
        )
        if not rows:
            raise S3Error(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                "been aborted or completed.",
                upload_id,
            )
        return dict(rows[0])

    def begin_part(
        self, bucket: str, key: str, upload_id: str, number: int, expected: Expected
    ) -> PendingObject:
        self._bucket_dir(bucket)
        self._upload(bucket, key, upload_id)
        if not 1 <= number <= MAX_PARTS:
            raise S3Error(
                400, "InvalidArgument", f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive"
            )
        return PendingObject(self.uploads_dir / upload_id / f"{number:05d}", expected)

    def commit_part(self, pending: PendingObject, upload_id: str, number: int) -> str:
        """Keep a received part (a part sent again replaces the first); returns its ETag."""
        pending.commit()
        with self.store.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO s3_parts VALUES (?, ?, ?, ?)",
                (upload_id, number, pending.md5_hex, pending.size),
            )
        return pending.md5_hex

    def parts(self, bucket: str, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        """(number, ETag, size) of the parts received so far."""
        self._upload(bucket, key, upload_id)
        rows = self.store.read(
            "SELECT number, etag, size FROM s3_parts WHERE upload_id = ? ORDER BY number", (upload_id,)
        )
        return [(r["number"], r["etag"], r["size"]) for r in rows]

    def complete(self, bucket: str, key: str, upload_id: str, chosen: list[tuple[int, str]]) -> ObjectInfo:
        """Join the chosen (number, ETag) parts, in order, into the object; S3's multipart ETag."""
        upload = self._upload(bucket, key, upload_id)
        received = {number: (etag, size) for number, etag, size in self.parts(bucket, key, upload_id)}
        if not chosen:
            raise S3Error(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        numbers = [number for number, _ in chosen]
        if numbers != sorted(set(numbers)):
            raise S3Error(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            )
        for index, (number, etag) in enumerate(chosen):
            if number not in received or received[number][0] != etag.strip('"'):
                raise S3Error(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may not have been "
                    "uploaded, or the specified entity tag may not match the part's entity tag.",
                )
            if index < len(chosen) - 1 and received[number][1] < MIN_PART_BYTES:
                raise S3Error(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                )
        pending = self.begin(bucket, key)
        digests = hashlib.md5()
        try:
            for number, _ in chosen:
                with open(self.uploads_dir / upload_id / f"{number:05d}", "rb") as part:
                    pending.copy_from(part, received[number][1])
                digests.update(bytes.fromhex(received[number][0]))
        except BaseException:
            pending.abort()
            raise
        info = self.commit(
            pending,
            bucket,
            key,
            upload["content_type"],
            json.loads(upload["metadata"]),
            etag=f"{digests.hexdigest()}-{len(chosen)}",
        )
        self._forget_upload(upload_id)
        return info

    def uploads(self, bucket: str, prefix: str = "") -> list[tuple[str, str, float]]:
        """(key, upload id, initiated) of the bucket's uploads in progress, by key then time."""
        self._bucket_dir(bucket)
        rows = self.store.read(
            "SELECT key, upload_id, initiated FROM s3_uploads WHERE bucket = ? AND substr(key, 1, ?) = ? "
            "ORDER BY key, initiated",
            (bucket, len(prefix), prefix),
        )
        return [(r["key"], r["upload_id"], r["initiated"]) for r in rows]

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._upload(bucket, key, upload_id)
        self._forget_upload(upload_id)

    def _forget_upload(self, upload_id: str) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM s3_parts WHERE upload_id = ?", (upload_id,))
            db.execute("DELETE FROM s3_uploads WHERE upload_id = ?", (upload_id,))
        shutil.rmtree(self.uploads_dir / upload_id, ignore_errors=True)
