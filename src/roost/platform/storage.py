"""Where channels come from and model artifacts go: `s3://bucket/key`, `file://` URIs and plain paths.

Embedded mode (the default): `s3://bucket/key` is the file or folder `<data root>/bucket/key`. When an
S3-compatible endpoint is configured, `s3://` URIs go to it through boto3 instead. A confined storage (the
server's) never reads or writes outside the data root: `..`, absolute paths and symlinks that lead out are
refused; an unconfined one (`roost train`, a person's own files) takes any local path.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from roost.atomic_file import write_atomically
from roost.platform.errors import InvalidRequest

# S3's bucket naming rules; they also keep `..` and empty names out of the data root.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Object:
    """An object of a real S3-compatible store."""

    bucket: str
    key: str


@dataclass(frozen=True)
class ChannelFile:
    """One file of a channel: where it is, and its path inside the channel directory."""

    relative: str
    source: Path | S3Object


class Storage:
    """Resolves URIs to local paths (or S3 objects), lists channels and stores artifacts."""

    def __init__(self, data_root: Path, *, confined: bool, s3_client: Any | None = None) -> None:
        self.data_root = data_root.resolve()
        self.confined = confined
        self._s3 = s3_client

    @property
    def local(self) -> bool:
        """Whether s3:// URIs mean folders of the data root (no S3-compatible endpoint is configured)."""
        return self._s3 is None

    # -- resolving ---------------------------------------------------------------------------------------

    def _inside_root(self, path: Path, uri: str) -> Path:
        # resolve() follows symlinks, so a link that leads out of the root is caught here too.
        real = path.resolve()
        if self.confined and not real.is_relative_to(self.data_root):
            raise InvalidRequest(
                f"'{uri}' resolves outside the data root {self.data_root}: the roost server only reads and "
                "writes under its --data-root"
            )
        return real

    def resolve(self, uri: str) -> Path | S3Object:
        """The local path (or S3 object) a URI names; InvalidRequest when it is malformed or escapes."""
        if "\0" in unquote(uri):  # no file name holds one; the OS would refuse it deep inside a lookup
            raise InvalidRequest(f"{uri!r} holds a NUL character: name a file or folder without one")
        parsed = urlparse(uri)
        if parsed.scheme == "s3":
            bucket, key = parsed.netloc, unquote(parsed.path).removeprefix("/")
            if not BUCKET_NAME.match(bucket):
                raise InvalidRequest(f"'{uri}' does not name a valid S3 bucket ('{bucket}')")
            parts = [p for p in key.split("/") if p]
            if key.startswith("/") or any(p in (".", "..") for p in parts):
                raise InvalidRequest(
                    f"'{uri}' has a key with '.', '..' or a leading '/': the roost server only reads and "
                    f"writes under its --data-root"
                )
            if self._s3 is not None:
                return S3Object(bucket, key)
            return self._inside_root(self.data_root.joinpath(bucket, *parts), uri)
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise InvalidRequest(f"'{uri}' names a host; file:// URIs must be local (file:///path)")
            return self._local(Path(unquote(parsed.path)), uri)
        if parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive, i.e. a plain path
            raise InvalidRequest(f"'{uri}' is not an s3://, file:// URI or a local path")
        return self._local(Path(uri), uri)

    def _local(self, path: Path, uri: str) -> Path:
        if self.confined and path.is_absolute() and not path.resolve().is_relative_to(self.data_root):
            raise InvalidRequest(
                f"'{uri}' is an absolute path outside the data root {self.data_root}: the roost server "
                "only reads and writes under its --data-root"
            )
        base = self.data_root if self.confined else Path.cwd()
        return self._inside_root(base / path, uri)

    # -- channels ----------------------------------------------------------------------------------------

    def channel_files(self, uri: str) -> list[ChannelFile]:
        """Every file under an S3Prefix channel URI; InvalidRequest in SageMaker's words if there is none."""
        location = self.resolve(uri)
        if isinstance(location, S3Object):
            files = list(self._s3_files(location))
        else:
            files = self._local_files(location, whole_folder=uri.endswith("/"))
        if not files:
            raise InvalidRequest(
                f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that '
                f"{self._where(location)} exists and holds files."
            )
        return files

    def _where(self, location: Path | S3Object) -> str:
        if isinstance(location, S3Object):
            return f"the prefix '{location.key}' of bucket '{location.bucket}'"
        return f"'{location}' (under the data root {self.data_root})" if self.confined else f"'{location}'"

    def _local_files(self, location: Path, *, whole_folder: bool) -> list[ChannelFile]:
        # A folder (or a prefix ending in "/") gives its content, paths relative to it. Otherwise the last
        # part is a string prefix, as in S3: "s3://b/data/train" takes data/train.rec and data/train.idx.
        if whole_folder or location.is_dir():
            roots = [(location, location)]
        elif location.parent.is_dir():
            roots = [
                (entry, location.parent)
                for entry in sorted(location.parent.iterdir())
                if entry.name.startswith(location.name)
            ]
        else:
            roots = []
        found: list[ChannelFile] = []
        for root, base in roots:
            for path in _walk(root):
                real = self._inside_root(path, str(path))
                found.append(ChannelFile(path.relative_to(base).as_posix(), real))
        return found

    def _s3_files(self, location: S3Object) -> Iterator[ChannelFile]:
        assert self._s3 is not None
        prefix_dir = location.key.rpartition("/")[0] if not location.key.endswith("/") else location.key
        listing = self._s3.get_paginator("list_objects_v2")
        pages = listing.paginate(Bucket=location.bucket, Prefix=location.key)
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                relative = item["Key"][len(prefix_dir) :].lstrip("/")
                yield ChannelFile(relative, S3Object(location.bucket, item["Key"]))

    def fetch(self, file: ChannelFile, destination: Path) -> None:
        """Put one channel file at `destination`: a symlink to a local file, a download of an S3 object."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(file.source, S3Object):
            assert self._s3 is not None
            self._s3.download_file(file.source.bucket, file.source.key, str(destination))
        else:
            destination.symlink_to(file.source)

    # -- output ------------------------------------------------------------------------------------------

    def check_output(self, uri: str) -> None:
        """Refuse an output path that cannot be written (bad URI, escapes the root, a file in the way)."""
        location = self.resolve(uri)
        if isinstance(location, Path):
            existing = next((p for p in (location, *location.parents) if p.exists()), None)
            if existing is not None and not existing.is_dir():
                raise InvalidRequest(f"S3OutputPath '{uri}' is not a folder: '{existing}' is a file")

    def put(self, local_file: Path, uri: str) -> None:
        """Store a file at `uri`, atomically for local paths: readers see the whole file or none."""
        location = self.resolve(uri)
        if isinstance(location, S3Object):
            assert self._s3 is not None
            self._s3.upload_file(str(local_file), location.bucket, location.key)
            return
        with open(local_file, "rb") as source:
            write_atomically(location, lambda out: shutil.copyfileobj(source, out))


def join(uri: str, *parts: str) -> str:
    """`uri` with path parts appended, one slash between each: join("s3://b/", "job") == "s3://b/job"."""
    return "/".join([uri.rstrip("/"), *parts])


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for folder, _dirs, names in os.walk(root, followlinks=False):
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file():
                yield path
