"""S3 buckets and objects on the data root: bucket BUCKET is the folder DATA_ROOT/BUCKET, key K its file K.

So what `aws s3 cp` uploads is where a training job's `s3://BUCKET/K` channel reads it, and a job's model is
an object as soon as it is written. Bodies arrive as `object_body.PendingObject`s and appear only when
complete. ETags, content types and user metadata live in the store, valid while the file's size and
modification time are the ones recorded; a file put there by other means gets the MD5 of its bytes when
first asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from roost.platform.errors import S3Error
from roost.platform.object_body import CHUNK, Expected, PendingObject, hidden
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
"""
DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 answers for an object stored without one
MAX_KEY_BYTES = 1024


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
class Listing:
    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or common prefix of the page: where the next page starts


class ObjectStore:
    """Buckets and objects over the data root and the platform's store."""

    def __init__(self, data_root: Path, store: Store) -> None:
        self.root = data_root.resolve()
        self.store = store
        store.ensure_schema(_SCHEMA)

    # -- buckets -----------------------------------------------------------------------------------------

    def bucket_dir(self, bucket: str, *, must_exist: bool = True) -> Path:
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", bucket)
        folder = self.root / bucket
        if must_exist and not (folder.is_dir() and folder.resolve().is_relative_to(self.root)):
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
        return folder

    def create_bucket(self, bucket: str) -> None:
        folder = self.bucket_dir(bucket, must_exist=False)
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
        self.bucket_dir(bucket)

    def delete_bucket(self, bucket: str) -> None:
        folder = self.bucket_dir(bucket)
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

    def path(self, bucket: str, key: str) -> Path:
        """The file of `key`; S3Error for keys that cannot be one (they would leave the bucket, say)."""
        folder = self.bucket_dir(bucket)
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
        if hidden(parts[-1]):
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
            while chunk := source.read(CHUNK):
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
        path = self.path(bucket, key)
        return self._info(bucket, key, path), path

    def object_path(self, bucket: str, key: str) -> Path:
        """The file a new body for `key` will be: `path`, and not a folder marker."""
        if key.endswith("/"):
            raise S3Error(
                400,
                "InvalidArgument",
                f"The key '{key}' ends with '/': roost's buckets are folders, so such a key can only be an "
                "empty folder marker (send it with no body)",
                f"/{bucket}/{key}",
            )
        return self.path(bucket, key)

    def begin(self, bucket: str, key: str, expected: Expected | None = None) -> PendingObject:
        """Start receiving a new body for `key` (PutObject, CopyObject, CompleteMultipartUpload)."""
        path = self.object_path(bucket, key)
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
        return PendingObject(path, expected or Expected())

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
            self.path(bucket, key).mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise S3Error(
                409, "InvalidArgument", f"'{key}' or a key above it is an object", f"/{bucket}/{key}"
            ) from None

    def delete(self, bucket: str, key: str) -> None:
        """Remove `key` if it exists (S3 answers success either way) and the folders it leaves empty."""
        path = self.path(bucket, key)
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
                if hidden(name) or not path.is_file():
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(bucket_dir.resolve()):
                    continue  # as for reading a key: a link that leads out of the bucket is no object
                yield name if relative == "." else f"{relative}/{name}"

    def list(
        self, bucket: str, prefix: str = "", delimiter: str = "", after: str = "", limit: int = 1000
    ) -> Listing:
        """Keys after `after` that start with `prefix`, in UTF-8 order, with keys that share a part up to
        the delimiter rolled up into common prefixes; at most `limit` objects and prefixes together."""
        bucket_dir = self.bucket_dir(bucket)
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
