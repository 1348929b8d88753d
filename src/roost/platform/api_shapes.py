"""Every request checked against botocore's input shape for its operation, in AWS's words.

`parse_input("CreateTrainingJob", payload)` walks the operation's input shape (structures: required and
unknown members; lists and maps: their length; strings: length, pattern, enum; numbers: their range and
type; booleans, timestamps, blobs) and raises one error listing every violation, as AWS does:
`2 validation errors detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value
less than or equal to 10000; Value null at ...`. A member of the wrong type is refused here too, so nothing
roost merely stores can break a later Describe. The same walk checks responses (`shape_errors`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from collections.abc import Mapping
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape

from roost.platform.errors import InvalidLogParameter, InvalidMetricParameter, InvalidRequest
from roost.platform.service_model import service

# The error each service answers a validation failure with (SageMaker: ValidationException; CloudWatch
# Logs words it the same but answers InvalidParameterException; CloudWatch InvalidParameterValue).
SERVICE_ERRORS: dict[str, type[InvalidRequest | InvalidLogParameter | InvalidMetricParameter]] = {
    "sagemaker": InvalidRequest,
    "logs": InvalidLogParameter,
    "cloudwatch": InvalidMetricParameter,
}
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# Epoch seconds from year 1 to 9999: what a timestamp can be and still become a date.
_TIMESTAMP = (-62_135_596_800, 253_402_300_799)
_SHOWN_CHARACTERS = 256
# The violations a message lists; the rest are counted, so a body full of errors gets a short answer.
_LISTED_VIOLATIONS = 10
# roost's one widening of the model: S3 URIs may also be file:// URIs and local paths (`roost train`'s
# --train, a server's data root), which storage checks with its own errors.
_UNCHECKED_PATTERNS = frozenset({"S3Uri"})


def parse_input(operation: str, payload: Any, *, service_name: str = "sagemaker") -> dict[str, Any]:
    """The payload, once it satisfies the operation's input shape, without its null members (AWS reads
    them as absent); else the service's validation error."""
    shape = service(service_name).operation_model(operation).input_shape
    errors = shape_errors(shape, payload)
    if errors:
        count = len(errors)
        listed = "; ".join(errors[:_LISTED_VIOLATIONS])
        more = f"; and {count - _LISTED_VIOLATIONS} more" if count > _LISTED_VIOLATIONS else ""
        raise SERVICE_ERRORS.get(service_name, InvalidRequest)(
            f"{count} validation error{'s' if count > 1 else ''} detected: {listed}{more}"
        )
    return {} if shape is None else _without_nulls(shape, payload)


def shape_errors(shape: Shape | None, value: Any) -> list[str]:
    """Every way `value` breaks `shape`, each as AWS words it (`Value ... at ... failed to satisfy ...`)."""
    if shape is None:  # an operation without input members takes an empty object
        return [] if value in ({}, None) else [_violation(value, "", "Member must be an empty structure")]
    if not isinstance(value, Mapping):
        return [_violation(value, "", f"Member must be a structure (JSON object) of {shape.name}")]
    errors: list[str] = []
    _check_members(shape, value, "", errors)  # type: ignore[arg-type]
    return errors


def _without_nulls(shape: Shape, value: Any) -> Any:
    # Called on values that fit their shape: only structures can hold nulls (as absent members).
    if isinstance(shape, StructureShape) and not shape.metadata.get("document"):
        return {
            name: _without_nulls(shape.members[name], member)
            for name, member in value.items()
            if member is not None
        }
    if isinstance(shape, ListShape):
        return [_without_nulls(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _without_nulls(shape.value, item) for key, item in value.items()}
    return value


def _check_members(shape: StructureShape, value: Mapping[str, Any], where: str, errors: list[str]) -> None:
    for name, member in shape.members.items():
        given = value.get(name)
        path = f"{where}.{_camel(name)}" if where else _camel(name)
        if given is None:
            if name in shape.required_members:
                errors.append(_violation(None, path, "Member must not be null"))
        else:
            _check(member, given, path, errors)
    for name in value:
        if name not in shape.members:
            path = f"{where}.{_camel(name)}" if where else _camel(name)
            errors.append(
                _violation(
                    value[name],
                    path,
                    f"Member must be one of the members of {shape.name}: {', '.join(shape.members)}",
                )
            )


def _check(shape: Shape, value: Any, where: str, errors: list[str]) -> None:
    kind = shape.type_name
    if shape.metadata.get("document"):  # free-form JSON by design
        return
    problem = _type_problem(kind, value)
    if problem is not None:
        errors.append(_violation(value, where, problem))
        return
    if kind == "structure":
        _check_members(shape, value, where, errors)  # type: ignore[arg-type]
        return
    errors.extend(_violation(value, where, c) for c in _constraints(shape, value))
    if isinstance(shape, ListShape):
        for position, item in enumerate(value, start=1):
            path = f"{where}.{position}.member"
            if item is None:
                errors.append(_violation(None, path, "Member must not be null"))
            else:
                _check(shape.member, item, path, errors)
    elif isinstance(shape, MapShape):
        _check_map(shape, value, where, errors)


def _check_map(shape: MapShape, value: Mapping[str, Any], where: str, errors: list[str]) -> None:
    key_problems: list[str] = []
    value_problems: list[str] = []
    for key, item in value.items():
        key_problems.extend(c for c in _constraints(shape.key, key) if c not in key_problems)
        if item is None:
            value_problems.append("Member must not be null")
        elif shape.value.type_name in ("structure", "list", "map"):
            _check(shape.value, item, f"{where}.{key}", errors)
        else:
            problem = _type_problem(shape.value.type_name, item)
            found = [problem] if problem else _constraints(shape.value, item)
            value_problems.extend(c for c in found if c not in value_problems)
    # AWS reports a map's entries as one constraint on the map, keys and values apart.
    if key_problems:
        errors.append(
            _violation(value, where, f"Map keys must satisfy constraint: [{', '.join(key_problems)}]")
        )
    if value_problems:
        errors.append(
            _violation(value, where, f"Map value must satisfy constraint: [{', '.join(value_problems)}]")
        )


def _type_problem(kind: str, value: Any) -> str | None:
    """Why `value` cannot be of botocore type `kind`, or None when it can."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "structure" and not isinstance(value, Mapping):
        return "Member must be a structure (JSON object)"
    if kind == "map" and not isinstance(value, Mapping):
        return "Member must be a map (JSON object)"
    if kind == "list" and not isinstance(value, list):
        return "Member must be a list (JSON array)"
    if kind == "string" and not isinstance(value, str):
        return "Member must be a string"
    if kind == "boolean" and not isinstance(value, bool):
        return "Member must be a boolean"
    if kind in ("integer", "long"):
        low, high = _INT32 if kind == "integer" else _INT64
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"Member must be an integer from {low} to {high}"
    if kind in ("float", "double") and not (number and math.isfinite(value)):
        return "Member must be a number"
    if kind == "timestamp" and not (number and _TIMESTAMP[0] <= value <= _TIMESTAMP[1]):
        return f"Member must be a timestamp: seconds since 1970-01-01 from {_TIMESTAMP[0]} to {_TIMESTAMP[1]}"
    if kind == "blob" and _blob_size(value) is None:
        return "Member must be base64-encoded bytes"
    return None


def _blob_size(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None


def _constraints(shape: Shape, value: Any) -> list[str]:
    """The shape's own constraints (length, range, pattern, enum) that `value`, of the right type, breaks."""
    meta, broken = shape.metadata, []
    kind = shape.type_name
    if kind in ("string", "list", "map", "blob"):
        size = _blob_size(value) if kind == "blob" else len(value)
        if "min" in meta and size < meta["min"]:
            broken.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            broken.append(f"Member must have length less than or equal to {meta['max']}")
    elif kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            broken.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            broken.append(f"Member must have value less than or equal to {meta['max']}")
    if kind == "string":
        pattern = None if shape.name in _UNCHECKED_PATTERNS else _pattern(meta.get("pattern"))
        if pattern is not None and pattern.fullmatch(value) is None:
            broken.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if meta.get("enum") and value not in meta["enum"]:
            broken.append(f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
    return broken


@functools.cache
def _pattern(pattern: str | None) -> regex.Pattern[str] | None:
    # AWS's patterns are Java regexes (`\p{L}`, `\p{Alnum}`): the regex module reads them. The few it
    # cannot (surrogate-pair ranges in Glue catalog names) are not checked rather than refused.
    if pattern is None:
        return None
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _violation(value: Any, where: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{_shown(value)}'"
    return f"Value {shown} at '{where}' failed to satisfy constraint: {constraint}"


def _shown(value: Any, depth: int = 0) -> str:
    # As AWS's Java services print values: true/false, [a, b], {k=v}; long values are cut short.
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, Mapping | list) and depth > 2:
        text = "..."
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k}={_shown(v, depth + 1)}" for k, v in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(_shown(v, depth + 1) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "..."


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]
