"""The CreateTrainingJob request: every member checked against botocore's shape, what roost acts on typed.

The whole request is stored and shown again by DescribeTrainingJob, so every member must first satisfy
botocore's input shape (`api_shapes`), then what roost needs to run it is checked here. Field names are
SageMaker's. Errors read like SageMaker's (`1 validation error detected: Value null at
'roleArn' failed to satisfy constraint: Member must not be null`), so a person who knows the service knows
what went wrong; the hyperparameters go through the algorithm's own schema and keep its wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from roost.algorithm.hyperparameters import HyperparameterError, parse_hyperparameters
from roost.machine import memory_bytes
from roost.platform.api_shapes import parse_input, shape_errors
from roost.platform.errors import InvalidRequest
from roost.platform.instances import HOST_MEMORY_BYTES, max_instance_count
from roost.platform.service_model import service

# The workshop's registry URI (`<account>.dkr.ecr.<region>.amazonaws.com/image-classification:1`), any tag,
# or the plain name.
ALGORITHM_IMAGE = re.compile(r"^(?:[^/\s]+/)*image-classification(?::[\w][\w.\-]{0,127})?$")
_AT = re.compile(r" at '([^']*)' failed to satisfy constraint")
# SageMaker's default when a request has no StoppingCondition: one day.
DEFAULT_MAX_RUNTIME_S = 86_400


class _Shape(BaseModel):
    # The constraints are botocore's and checked before (api_shapes); these models give typed access to
    # what roost acts on, with SageMaker's defaults, and require what roost cannot run without.
    # extra="allow": members roost does not act on are kept as sent and shown again by DescribeTrainingJob.
    model_config = ConfigDict(extra="allow", strict=True)


class S3DataSourceSpec(_Shape):
    S3DataType: str
    S3Uri: str
    S3DataDistributionType: str = "FullyReplicated"


class DataSourceSpec(_Shape):
    S3DataSource: S3DataSourceSpec | None = None


class ChannelSpec(_Shape):
    ChannelName: str
    DataSource: DataSourceSpec
    ContentType: str | None = None
    CompressionType: str = "None"
    RecordWrapperType: str = "None"
    InputMode: str | None = None


class AlgorithmSpec(_Shape):
    TrainingInputMode: str
    TrainingImage: str | None = None


class ResourceSpec(_Shape):
    InstanceType: str
    # botocore allows 0 (serverless jobs); a built-in algorithm job needs an instance.
    InstanceCount: Annotated[int, Field(ge=1)] = 1
    VolumeSizeInGB: int = 30


class StoppingSpec(_Shape):
    MaxRuntimeInSeconds: int = DEFAULT_MAX_RUNTIME_S


class OutputSpec(_Shape):
    S3OutputPath: str


class CreateTrainingJobRequest(_Shape):
    TrainingJobName: str
    RoleArn: str
    AlgorithmSpecification: AlgorithmSpec
    HyperParameters: dict[str, str] = {}
    InputDataConfig: list[ChannelSpec]
    OutputDataConfig: OutputSpec
    ResourceConfig: ResourceSpec
    StoppingCondition: StoppingSpec = StoppingSpec()
    Environment: dict[str, str] = {}


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _where(location: tuple[str | int, ...]) -> str:
    # SageMaker's own paths: lower-camel member names, 1-based list positions ("inputDataConfig.1.member").
    parts: list[str] = []
    for part in location:
        parts.append(f"{part + 1}.member" if isinstance(part, int) else _camel(part))
    return ".".join(parts)


def _value(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return "null"
    return f"'{error['input']}'" if isinstance(error["input"], str | int | float) else "the value given"


def _constraint(error: Mapping[str, Any]) -> str:
    kind, context = error["type"], error.get("ctx", {})
    if kind == "missing":
        return "Member must not be null"
    if kind == "string_pattern_mismatch":
        return f"Member must satisfy regular expression pattern: {context['pattern'].strip('^$')}"
    if kind == "literal_error":
        allowed = context["expected"].replace("'", "")
        return f"Member must satisfy enum value set: [{allowed}]"
    if kind in ("string_too_long", "too_long"):
        return f"Member must have length less than or equal to {context['max_length']}"
    if kind in ("string_too_short", "too_short"):
        return f"Member must have length greater than or equal to {context['min_length']}"
    if kind == "greater_than_equal":
        return f"Member must have value greater than or equal to {context['ge']}"
    if kind == "less_than_equal":
        return f"Member must have value less than or equal to {context['le']}"
    if kind == "extra_forbidden":
        return "Member is not expected here"
    return f"Member must be valid: {error['msg']}"


def _detail(error: Mapping[str, Any]) -> str:
    where = _where(error["loc"])
    return f"Value {_value(error)} at '{where}' failed to satisfy constraint: {_constraint(error)}"


def validation_message(failure: pydantic.ValidationError) -> str:
    """pydantic errors as AWS words them: `N validation errors detected: Value ... at ... failed to ...`.

    For the members roost requires beyond botocore's shapes, and for the services whose inputs are still
    pydantic models (CloudWatch metrics)."""
    errors = failure.errors()
    count = len(errors)
    details = "; ".join(_detail(e) for e in errors)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {details}"


def _check_roost_support(request: CreateTrainingJobRequest) -> None:
    image = request.AlgorithmSpecification.TrainingImage
    if image is None or not ALGORITHM_IMAGE.match(image):
        raise InvalidRequest(
            f"AlgorithmSpecification.TrainingImage {image!r} is not the image-classification algorithm: "
            "roost runs SageMaker's built-in Image Classification only; use "
            "'<account>.dkr.ecr.<region>.amazonaws.com/image-classification:1' or 'image-classification'"
        )
    count, most = request.ResourceConfig.InstanceCount, max_instance_count()
    if count > most:
        raise InvalidRequest(
            f"1 validation error detected: Value '{count}' at 'resourceConfig.instanceCount' failed to "
            f"satisfy constraint: Member must have value less than or equal to {most} (roost simulates "
            f"each instance on this machine, at about {HOST_MEMORY_BYTES / 1e9:.1f} GB each, and this "
            f"machine has {memory_bytes() / 1e9:.1f} GB): use InstanceCount {most} or fewer"
        )
    modes = {request.AlgorithmSpecification.TrainingInputMode} | {
        c.InputMode for c in request.InputDataConfig if c.InputMode
    }
    if "Pipe" in modes:
        raise InvalidRequest(
            "TrainingInputMode 'Pipe' is not supported by roost: use 'File' (or 'FastFile'), "
            "which reads the same RecordIO files"
        )
    seen: set[str] = set()
    for position, channel in enumerate(request.InputDataConfig, start=1):
        if channel.ChannelName in seen:
            raise InvalidRequest(f"Channel names must be unique: '{channel.ChannelName}' appears twice")
        seen.add(channel.ChannelName)
        if channel.ChannelName in (".", ".."):
            # The pattern lets dots through, but a channel is a folder under input/data/.
            raise InvalidRequest(
                f"1 validation error detected: Value '{channel.ChannelName}' at "
                f"'inputDataConfig.{position}.member.channelName' failed to satisfy constraint: Member must "
                "not be '.' or '..': a channel name is a folder name under /opt/ml/input/data/"
            )
        source = channel.DataSource.S3DataSource
        if source is None:
            raise InvalidRequest(
                f"Channel '{channel.ChannelName}' has no DataSource.S3DataSource: roost reads channels "
                "from S3 URIs, file:// URIs and local paths only"
            )
        if source.S3DataType != "S3Prefix":
            raise InvalidRequest(
                f"S3DataType '{source.S3DataType}' of channel '{channel.ChannelName}' is not supported by "
                "roost: use 'S3Prefix'"
            )
        if channel.CompressionType != "None":
            raise InvalidRequest(
                f"CompressionType '{channel.CompressionType}' of channel '{channel.ChannelName}' is not "
                "supported by the image-classification algorithm: use 'None'"
            )


def request_problems(raw: Mapping[str, Any]) -> dict[str, str]:
    """Each member's first problem, by its path as AWS writes it ('trainingJobName',
    'resourceConfig.instanceCount'), in parse_request's words: what a form shows as it is typed."""
    details = shape_errors(service().operation_model("CreateTrainingJob").input_shape, raw)
    if not details:
        try:
            CreateTrainingJobRequest.model_validate(raw)
        except pydantic.ValidationError as failure:
            details = [_detail(e) for e in failure.errors()]
    problems: dict[str, str] = {}
    for detail in details:
        # The last "at '<path>'": a value shown before it may hold those words too.
        problems.setdefault(_AT.findall(detail)[-1], detail)
    return problems


def parse_request(raw: Any) -> CreateTrainingJobRequest:
    """Validate a CreateTrainingJob request (decoded JSON); raise InvalidRequest in SageMaker's words.

    Checks everything that needs no storage: the shape, the algorithm, the instance type, the input modes,
    the hyperparameters. Channels and the output path are checked against storage by the caller.
    """
    given = parse_input("CreateTrainingJob", raw)
    try:
        request = CreateTrainingJobRequest.model_validate(given)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None
    _check_roost_support(request)
    try:
        parse_hyperparameters(request.HyperParameters)
    except HyperparameterError as error:
        raise InvalidRequest(str(error)) from None
    return request
