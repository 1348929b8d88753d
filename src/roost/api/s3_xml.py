"""S3's XML documents: answers (`<ListBucketResult xmlns=...>`), error bodies, and the request bodies of
DeleteObjects and CompleteMultipartUpload."""

from __future__ import annotations

import datetime
import email.utils
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from roost.platform.errors import S3Error

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BYTES = 1_048_576
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def document(root: str, children: list[tuple[str, Any]], status: int = 200) -> Response:
    element = ET.Element(root, xmlns=NAMESPACE)
    _append(element, children)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)
    return Response(body, status_code=status, media_type="application/xml", headers=request_id())


def _append(parent: ET.Element, children: list[tuple[str, Any]]) -> None:
    for tag, value in children:
        child = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _append(child, value)
        elif value is not None:
            child.text = str(value).lower() if isinstance(value, bool) else str(value)


def request_id() -> dict[str, str]:
    return {"x-amz-request-id": uuid.uuid4().hex[:16].upper()}


def error_response(error: S3Error, method: str) -> Response:
    if method == "HEAD":  # HEAD answers carry no body; clients read the status alone
        return Response(status_code=error.status, headers={**request_id(), "x-amz-error-code": error.code})
    children: list[tuple[str, Any]] = [("Code", error.code), ("Message", error.message)]
    if error.resource:
        children.append(("Resource", error.resource))
    element = ET.Element("Error")
    _append(element, children)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)
    return Response(body, status_code=error.status, media_type="application/xml", headers=request_id())


async def read_xml(request: Request) -> ET.Element:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_XML_BYTES:
            raise S3Error(400, "MalformedXML", "The XML you provided was larger than 1 MB")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise S3Error(
            400,
            "MalformedXML",
            MALFORMED,
        ) from None
    for element in root.iter():  # namespaces are optional in requests: compare local names
        element.tag = element.tag.rpartition("}")[2]
    return root
