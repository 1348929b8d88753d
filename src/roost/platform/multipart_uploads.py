"""S3 multipart uploads: parts kept under the state directory, in a table of their own, until
CompleteMultipartUpload joins them into the object (which appears only then) or AbortMultipartUpload drops
them. The ETag is S3's multipart form: the MD5 of the parts' MD5s, a dash, the number of parts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from roost.platform.errors import S3Error
from roost.platform.object_body import Expected, PendingObject
from roost.platform.object_store import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectStore
from roost.platform.store import Store

_SCHEMA = """
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
MIN_PART_BYTES = 5 * 1024**2  # every part but the last
MAX_PARTS = 10_000


class MultipartUploads:
    """Uploads in progress for the objects of `objects`, their parts in `uploads_dir`."""

    def __init__(self, objects: ObjectStore, store: Store, uploads_dir: Path) -> None:
        self.objects, self.store, self.uploads_dir = objects, store, uploads_dir
        store.ensure_schema(_SCHEMA)

    def create(self, bucket: str, key: str, content_type: str | None, metadata: Mapping[str, str]) -> str:
        self.objects.object_path(bucket, key)  # refused now rather than after the parts
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
        self.objects.bucket_dir(bucket)
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
        pending = self.objects.begin(bucket, key)
        digests = hashlib.md5()
        try:
            for number, _ in chosen:
                with open(self.uploads_dir / upload_id / f"{number:05d}", "rb") as part:
                    pending.copy_from(part, received[number][1])
                digests.update(bytes.fromhex(received[number][0]))
        except BaseException:
            pending.abort()
            raise
        info = self.objects.commit(
            pending,
            bucket,
            key,
            upload["content_type"],
            json.loads(upload["metadata"]),
            etag=f"{digests.hexdigest()}-{len(chosen)}",
        )
        self._forget(upload_id)
        return info

    def in_progress(self, bucket: str, prefix: str = "") -> list[tuple[str, str, float]]:
        """(key, upload id, initiated) of the bucket's uploads in progress, by key then time."""
        self.objects.bucket_dir(bucket)
        rows = self.store.read(
            "SELECT key, upload_id, initiated FROM s3_uploads WHERE bucket = ? AND substr(key, 1, ?) = ? "
            "ORDER BY key, initiated",
            (bucket, len(prefix), prefix),
        )
        return [(r["key"], r["upload_id"], r["initiated"]) for r in rows]

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._upload(bucket, key, upload_id)
        self._forget(upload_id)

    def _forget(self, upload_id: str) -> None:
        with self.store.write() as db:
            db.execute("DELETE FROM s3_parts WHERE upload_id = ?", (upload_id,))
            db.execute("DELETE FROM s3_uploads WHERE upload_id = ?", (upload_id,))
        shutil.rmtree(self.uploads_dir / upload_id, ignore_errors=True)
