"""S3's REST/XML protocol over the object store: the calls `aws s3`, boto3 and the SageMaker SDK make.

Path-style (`/BUCKET/KEY`, what botocore uses for an IP endpoint) and virtual-hosted style
(`BUCKET.localhost:PORT/KEY`). Signatures are not checked, as for the rest of the server: any credentials
do. Errors are S3's XML error bodies with its codes (NoSuchBucket, NoSuchKey, BadDigest, ...); a HEAD gets
the status alone. Bodies are streamed to disk, never held whole in memory.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from roost.api.s3_xml import MALFORMED, document, error_response, http_date, iso, read_xml, request_id
from roost.platform.errors import S3Error
from roost.platform.multipart_uploads import MultipartUploads
from roost.platform.object_body import MAX_OBJECT_BYTES, Expected, PendingObject
from roost.platform.object_store import Listing, ObjectInfo, ObjectStore

_WRITE_BYTES = 1_048_576
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.\-]*)\.localhost$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Query parameters that choose an operation; any other sub-resource (?acl, ?tagging, ...) is not served.
_SUBRESOURCES = {"uploads", "uploadId", "partNumber", "delete", "location", "list-type"}
_QUERY_OPTIONS = {
    "prefix", "delimiter", "max-keys", "marker", "continuation-token", "start-after", "encoding-type",
    "fetch-owner", "x-id", "max-uploads", "max-parts", "part-number-marker", "versionId",
    "AWSAccessKeyId", "Signature", "Expires",  # a presigned URL's, signature version 2
}  # fmt: skip
log = logging.getLogger("roost.api.s3")


def _etag(info: ObjectInfo) -> str:
    return f'"{info.etag}"'


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": _etag(info),
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.content_type,
        "Accept-Ranges": "bytes",
        **{f"x-amz-meta-{k}": v for k, v in info.metadata.items()},
    }


def _user_metadata(request: Request) -> dict[str, str]:
    return {k[len("x-amz-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-amz-meta-")}


def _expected(request: Request) -> Expected:
    sha256 = request.headers.get("x-amz-content-sha256", "")
    return Expected(
        md5_base64=request.headers.get("content-md5"),
        sha256_hex=sha256 if _HEX_SHA256.match(sha256) else None,
        crc32_base64=request.headers.get("x-amz-checksum-crc32"),
    )


def _int(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit():
        raise S3Error(400, "InvalidArgument", f"Provided {name} not an integer or within integer range")
    return int(text)


class S3Api:
    """Answers S3 requests from the object store and its multipart uploads."""

    def __init__(self, objects: ObjectStore, uploads: MultipartUploads) -> None:
        self.objects, self.uploads = objects, uploads

    async def __call__(self, request: Request) -> Response:
        try:
            return await self._dispatch(request)
        except S3Error as error:
            response = error_response(error, request.method)
        except Exception:
            log.exception("S3 %s %s failed", request.method, request.url.path)
            failure = S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
            response = error_response(failure, request.method)
        if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
            # The body may be unread (refused before it came): its bytes must not be taken for a request.
            response.headers["Connection"] = "close"
        return response

    def _address(self, request: Request) -> tuple[str, str]:
        host = request.headers.get("host", "").rpartition(":")[0] or request.headers.get("host", "")
        found = _VIRTUAL_HOST.match(host)
        raw = request.scope.get("raw_path")
        try:  # keys are UTF-8; the server's own decoding of the path would replace what is not
            path = unquote_to_bytes(raw.decode("latin-1")).decode() if raw else request.scope["path"]
        except UnicodeDecodeError:
            raise S3Error(400, "InvalidURI", "Couldn't parse the specified URI.") from None
        if found:
            return found.group("bucket"), path.removeprefix("/")
        bucket, _, key = path.removeprefix("/").partition("/")
        return bucket, key

    async def _dispatch(self, request: Request) -> Response:
        bucket, key = self._address(request)
        query = request.query_params
        asked = {name for name in query if not name.lower().startswith("x-amz-")}
        unknown = asked - _SUBRESOURCES - _QUERY_OPTIONS
        if unknown:
            raise S3Error(
                501,
                "NotImplemented",
                f"roost does not implement the ?{sorted(unknown)[0]} sub-resource: it serves buckets, "
                "objects and multipart uploads only",
            )
        method = request.method
        if not bucket:
            if method == "GET":
                return await run_in_threadpool(self._list_buckets)
            raise S3Error(
                405, "MethodNotAllowed", "The specified method is not allowed against this resource."
            )
        if not key:
            return await self._bucket_operation(request, bucket)
        if method == "PUT":
            if "uploadId" in query:
                return await self._upload_part(request, bucket, key)
            if "x-amz-copy-source" in request.headers:
                return await run_in_threadpool(self._copy, request, bucket, key)
            return await self._put(request, bucket, key)
        if method in ("GET", "HEAD"):
            if "uploadId" in query:
                return await run_in_threadpool(self._list_parts, bucket, key, query["uploadId"])
            return await run_in_threadpool(self._get, request, bucket, key)
        if method == "DELETE":
            if "uploadId" in query:
                await run_in_threadpool(self.uploads.abort, bucket, key, query["uploadId"])
            else:
                await run_in_threadpool(self.objects.delete, bucket, key)
            return Response(status_code=204, headers=request_id())
        if method == "POST" and "uploads" in query:
            upload_id = await run_in_threadpool(
                self.uploads.create,
                bucket,
                key,
                request.headers.get("content-type"),
                _user_metadata(request),
            )
            return document(
                "InitiateMultipartUploadResult", [("Bucket", bucket), ("Key", key), ("UploadId", upload_id)]
            )
        if method == "POST" and "uploadId" in query:
            return await self._complete(request, bucket, key, query["uploadId"])
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    # -- buckets -----------------------------------------------------------------------------------------

    def _list_buckets(self) -> Response:
        buckets = [
            ("Bucket", [("Name", name), ("CreationDate", iso(created))])
            for name, created in self.objects.buckets()
        ]
        owner = [("ID", "roost"), ("DisplayName", "roost")]
        return document("ListAllMyBucketsResult", [("Owner", owner), ("Buckets", buckets)])

    async def _bucket_operation(self, request: Request, bucket: str) -> Response:
        method, query = request.method, request.query_params
        if method == "PUT":
            await run_in_threadpool(self.objects.create_bucket, bucket)
            return Response(headers={**request_id(), "Location": f"/{bucket}"})
        if method == "HEAD":
            await run_in_threadpool(self.objects.head_bucket, bucket)
            return Response(headers={**request_id(), "x-amz-bucket-region": "us-east-1"})
        if method == "DELETE":
            await run_in_threadpool(self.objects.delete_bucket, bucket)
            return Response(status_code=204, headers=request_id())
        if method == "POST" and "delete" in query:
            return await self._delete_objects(request, bucket)
        if method == "GET" and "location" in query:
            await run_in_threadpool(self.objects.head_bucket, bucket)
            return document("LocationConstraint", [])
        if method == "GET" and "uploads" in query:
            return await run_in_threadpool(self._list_uploads, bucket, query.get("prefix", ""))
        if method == "GET":
            return await run_in_threadpool(self._list_objects, request, bucket)
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def _list_uploads(self, bucket: str, prefix: str) -> Response:
        children: list[tuple[str, Any]] = [("Bucket", bucket), ("Prefix", prefix), ("IsTruncated", False)]
        children += [
            ("Upload", [("Key", key), ("UploadId", upload_id), ("Initiated", iso(initiated))])
            for key, upload_id, initiated in self.uploads.in_progress(bucket, prefix)
        ]
        return document("ListMultipartUploadsResult", children)

    def _list_objects(self, request: Request, bucket: str) -> Response:
        query = request.query_params
        version2 = query.get("list-type") == "2"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        limit = min(_int(query.get("max-keys"), "max-keys", 1000), 1000)
        encode = query.get("encoding-type") == "url"
        if "encoding-type" in query and not encode:
            raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
        token = query.get("continuation-token")
        if version2:
            after = _decode_token(token) if token is not None else query.get("start-after", "")
        else:
            after = query.get("marker", "")
        listing = (
            self.objects.list(bucket, prefix, delimiter, after, limit)
            if limit
            else Listing([], [], False, None)
        )

        def text(value: str) -> str:
            return quote(value, safe="/") if encode else value

        children: list[tuple[str, Any]] = [("Name", bucket), ("Prefix", text(prefix))]
        if version2:
            if token is not None:
                children.append(("ContinuationToken", token))
            if "start-after" in query:
                children.append(("StartAfter", text(query["start-after"])))
            children.append(("KeyCount", len(listing.objects) + len(listing.prefixes)))
            if listing.truncated and listing.last is not None:
                children.append(("NextContinuationToken", _encode_token(listing.last)))
        else:
            children.append(("Marker", text(after)))
            if listing.truncated and delimiter and listing.last is not None:
                children.append(("NextMarker", text(listing.last)))
        if delimiter:
            children.append(("Delimiter", text(delimiter)))
        children += [("MaxKeys", limit), ("IsTruncated", listing.truncated)]
        if encode:
            children.append(("EncodingType", "url"))
        for info in listing.objects:
            entry: list[tuple[str, Any]] = [
                ("Key", text(info.key)),
                ("LastModified", iso(info.last_modified)),
                ("ETag", _etag(info)),
                ("Size", info.size),
                ("StorageClass", "STANDARD"),
            ]
            children.append(("Contents", entry))
        children += [("CommonPrefixes", [("Prefix", text(p))]) for p in listing.prefixes]
        return document("ListBucketResult", children)

    async def _delete_objects(self, request: Request, bucket: str) -> Response:
        root = await read_xml(request)
        keys = [element.findtext("Key") or "" for element in root.findall("Object")]
        if root.tag != "Delete" or not keys or len(keys) > 1000:
            raise S3Error(
                400,
                "MalformedXML",
                MALFORMED,
            )
        quiet = (root.findtext("Quiet") or "").lower() == "true"
        results: list[tuple[str, Any]] = []
        for key in keys:
            try:
                await run_in_threadpool(self.objects.delete, bucket, key)
                if not quiet:
                    results.append(("Deleted", [("Key", key)]))
            except S3Error as error:
                if error.code == "NoSuchBucket":
                    raise
                results.append(("Error", [("Key", key), ("Code", error.code), ("Message", error.message)]))
        return document("DeleteResult", results)

    # -- objects -----------------------------------------------------------------------------------------

    async def _receive(self, request: Request, pending: PendingObject) -> None:
        """Stream the body into `pending`; on any failure the temporary file goes."""
        if "aws-chunked" in request.headers.get("content-encoding", ""):
            pending.abort()
            raise S3Error(
                501,
                "NotImplemented",
                "roost does not take aws-chunked bodies: send it unencoded, as botocore does over http",
            )
        try:
            # Hashing and writing in a worker thread, a megabyte at a time: the parts the CLI sends at once
            # are digested in parallel (hashlib lets go of the GIL), and the event loop stays free.
            buffered: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                buffered.append(chunk)
                size += len(chunk)
                if size >= _WRITE_BYTES:
                    await run_in_threadpool(pending.write, b"".join(buffered))
                    buffered, size = [], 0
            await run_in_threadpool(pending.write, b"".join(buffered))
        except BaseException:
            pending.abort()
            raise

    def _declared_size(self, request: Request) -> int | None:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > MAX_OBJECT_BYTES:
                raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            return int(declared)
        return None

    async def _put(self, request: Request, bucket: str, key: str) -> Response:
        size = self._declared_size(request)
        if key.endswith("/") and not size:
            await run_in_threadpool(self.objects.make_folder, bucket, key)
            return Response(headers={**request_id(), "ETag": '"d41d8cd98f00b204e9800998ecf8427e"'})
        pending = await run_in_threadpool(self.objects.begin, bucket, key, _expected(request))
        await self._receive(request, pending)
        info = await run_in_threadpool(
            self.objects.commit,
            pending,
            bucket,
            key,
            request.headers.get("content-type"),
            _user_metadata(request),
        )
        return Response(headers={**request_id(), "ETag": _etag(info)})

    def _get(self, request: Request, bucket: str, key: str) -> Response:
        info, path = self.objects.open(bucket, key)
        headers = _object_headers(info)
        if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
        if if_match is not None and if_match.strip('"') not in (info.etag, "*"):
            raise S3Error(
                412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
            )
        if if_none_match is not None and if_none_match.strip('"') in (info.etag, "*"):
            return Response(status_code=304, headers={**request_id(), "ETag": headers["ETag"]})
        start, end, status = 0, info.size - 1, 200
        asked = request.headers.get("range")
        if asked is not None:
            start, end = _byte_range(asked, info.size)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
        headers["Content-Length"] = str(max(end - start + 1, 0))
        headers.update(request_id())
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        return StreamingResponse(_read(path, start, end - start + 1), status_code=status, headers=headers)

    def _copy(self, request: Request, bucket: str, key: str) -> Response:
        source_bucket, source_key = _copy_source(request.headers["x-amz-copy-source"])
        source, path = self.objects.open(source_bucket, source_key)
        replace = request.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE"
        if (source_bucket, source_key) == (bucket, key) and not replace:
            raise S3Error(
                400,
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself without "
                "changing the object's metadata, storage class, website redirect location or encryption "
                "attributes.",
            )
        pending = self.objects.begin(bucket, key)
        try:
            with open(path, "rb") as data:
                pending.copy_from(data, source.size)
        except BaseException:
            pending.abort()
            raise
        content_type = request.headers.get("content-type") if replace else source.content_type
        metadata = _user_metadata(request) if replace else source.metadata
        info = self.objects.commit(pending, bucket, key, content_type, metadata)
        return document(
            "CopyObjectResult", [("LastModified", iso(info.last_modified)), ("ETag", _etag(info))]
        )

    # -- multipart uploads -------------------------------------------------------------------------------

    async def _upload_part(self, request: Request, bucket: str, key: str) -> Response:
        query = request.query_params
        upload_id = query["uploadId"]
        number = _int(query.get("partNumber"), "partNumber", 0)
        copy_source = request.headers.get("x-amz-copy-source")
        if copy_source is None:
            self._declared_size(request)
        pending = await run_in_threadpool(
            self.uploads.begin_part,
            bucket,
            key,
            upload_id,
            number,
            Expected() if copy_source else _expected(request),
        )
        if copy_source is None:
            await self._receive(request, pending)
        else:
            await run_in_threadpool(
                self._copy_part, pending, copy_source, request.headers.get("x-amz-copy-source-range")
            )
        etag = await run_in_threadpool(self.uploads.commit_part, pending, upload_id, number)
        if copy_source is None:
            return Response(headers={**request_id(), "ETag": f'"{etag}"'})
        return document(
            "CopyPartResult",
            [("LastModified", iso(time.time())), ("ETag", f'"{etag}"')],
        )

    def _copy_part(self, pending: PendingObject, copy_source: str, asked: str | None) -> None:
        try:
            source, path = self.objects.open(*_copy_source(copy_source))
            start, end = _byte_range(asked, source.size) if asked else (0, source.size - 1)
            with open(path, "rb") as data:
                data.seek(start)
                pending.copy_from(data, end - start + 1)
        except BaseException:
            pending.abort()
            raise

    def _list_parts(self, bucket: str, key: str, upload_id: str) -> Response:
        parts = self.uploads.parts(bucket, key, upload_id)
        children: list[tuple[str, Any]] = [
            ("Bucket", bucket),
            ("Key", key),
            ("UploadId", upload_id),
            ("IsTruncated", False),
        ]
        children += [
            ("Part", [("PartNumber", n), ("ETag", f'"{etag}"'), ("Size", size)]) for n, etag, size in parts
        ]
        return document("ListPartsResult", children)

    async def _complete(self, request: Request, bucket: str, key: str, upload_id: str) -> Response:
        root = await read_xml(request)
        chosen = []
        for part in root.findall("Part"):
            number = part.findtext("PartNumber") or ""
            if not number.isdigit():
                raise S3Error(400, "MalformedXML", "Each Part of CompleteMultipartUpload needs a PartNumber")
            chosen.append((int(number), part.findtext("ETag") or ""))
        info = await run_in_threadpool(self.uploads.complete, bucket, key, upload_id, chosen)
        location = f"{request.base_url}{bucket}/{quote(key)}"
        return document(
            "CompleteMultipartUploadResult",
            [("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", _etag(info))],
        )


def _byte_range(asked: str, size: int) -> tuple[int, int]:
    """(first, last) byte of a `bytes=A-B`, `bytes=A-` or `bytes=-N` range; InvalidRange past the end."""
    found = _RANGE.match(asked.strip())
    if found is None or found.group(1) == found.group(2) == "":
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    first, last = found.group(1), found.group(2)
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    return start, end


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as data:
        data.seek(start)
        while length > 0:
            chunk = data.read(min(1024 * 1024, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _copy_source(header: str) -> tuple[str, str]:
    source = unquote(header.partition("?")[0]).removeprefix("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise S3Error(
            400,
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    return bucket, key


def _encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect") from None


def is_s3_request(headers: dict[str, str], query: str) -> bool:
    """Whether a request is for S3: signed for service `s3` (header or presigned URL), or with signature
    version 2, which only S3 still takes (boto3 presigns S3 URLs with it); not an AWS JSON call (those name
    their operation in X-Amz-Target)."""
    if "x-amz-target" in headers:
        return False
    authorization = headers.get("authorization", "")
    fields = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    return (
        "/s3/aws4_request" in authorization + " " + unquote(query)
        or authorization.startswith("AWS ")
        or {"AWSAccessKeyId", "Signature"} <= fields
    )
