"""AWS's query protocol (form-encoded `Action=...&Version=...` in, XML out), as clients older than
botocore's JSON CloudWatch send it.

The form becomes the JSON protocol's payload by the operation's input shape in botocore's service model,
and the answer becomes XML by its output shape, so both protocols run the very same operations.
"""

from __future__ import annotations

import datetime
import functools
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from botocore.loaders import Loader
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from roost.errors import UserError


class MalformedQueryString(UserError):
    """A form field that does not fit the operation's input shape (`MalformedQueryString`)."""


@functools.cache
def service_model(service: str) -> ServiceModel:
    return ServiceModel(Loader().load_service_model(service, "service-2"), service_name=service)


def operation_model(service: str, action: str) -> OperationModel | None:
    model = service_model(service)
    return model.operation_model(action) if action in model.operation_names else None


def parse(fields: Iterable[tuple[str, str]], operation: OperationModel) -> dict[str, Any]:
    """The form's fields (`Dimensions.member.1.Name=...`) as the operation's JSON payload."""
    tree: dict[str, Any] = {}
    for name, value in fields:
        if name in ("Action", "Version"):
            continue
        node = tree
        *path, last = name.split(".")
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MalformedQueryString(f"The parameter {name} is malformed")
        node[last] = value
    return _value(tree, operation.input_shape, "") if operation.input_shape else {}


def _value(node: Any, shape: Shape, where: str) -> Any:
    try:
        if isinstance(shape, StructureShape):
            unknown = set(node) - set(shape.members)
            if unknown:
                raise MalformedQueryString(f"The parameter {where}{sorted(unknown)[0]} is not recognized")
            return {k: _value(v, shape.members[k], f"{where}{k}.") for k, v in node.items()}
        if isinstance(shape, ListShape):
            items = node.get("member", {}) if isinstance(node, dict) else {}
            ordered = sorted(items.items(), key=lambda item: int(item[0]))
            return [_value(v, shape.member, f"{where}member.{i}.") for i, v in ordered]
        if isinstance(shape, MapShape):
            entries = node.get("entry", {})
            return {
                _value(e["key"], shape.key, where): _value(e["value"], shape.value, where)
                for e in entries.values()
            }
        if isinstance(node, dict):
            raise MalformedQueryString(f"The parameter {where.rstrip('.')} is malformed")
        return _scalar(node, shape.type_name)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedQueryString(f"The parameter {where.rstrip('.')} is malformed") from None


def _scalar(text: str, kind: str) -> Any:
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("double", "float"):
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if kind == "timestamp":
        try:
            return float(text)
        except ValueError:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            return moment.timestamp()
    return text


def _xml_text(value: Any, kind: str) -> str:
    if kind == "timestamp":
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, name: str, value: Any, shape: Shape) -> None:
    element = ET.SubElement(parent, shape.serialization.get("name", name))
    if isinstance(shape, StructureShape):
        for member, member_shape in shape.members.items():
            if member in value:
                _append(element, member, value[member], member_shape)
    elif isinstance(shape, ListShape):
        for item in value:
            _append(element, "member", item, shape.member)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            entry = ET.SubElement(element, "entry")
            _append(entry, "key", key, shape.key)
            _append(entry, "value", item, shape.value)
    else:
        element.text = _xml_text(value, shape.type_name)


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)


def render(service: str, operation: OperationModel, output: dict[str, Any]) -> bytes:
    """`<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>...</ResponseMetadata>`."""
    root = ET.Element(f"{operation.name}Response", xmlns=service_model(service).metadata["xmlNamespace"])
    shape = operation.output_shape
    if shape is not None:
        _append(root, f"{operation.name}Result", output, shape)
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = str(uuid.uuid4())
    return _document(root)


def render_error(service: str, code: str, message: str, sender: bool = True) -> bytes:
    root = ET.Element("ErrorResponse", xmlns=service_model(service).metadata["xmlNamespace"])
    error = ET.SubElement(root, "Error")
    ET.SubElement(error, "Type").text = "Sender" if sender else "Receiver"
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestId").text = str(uuid.uuid4())
    return _document(root)
