"""The CreateTrainingJob request: the whole shape is accepted and stored, what roost acts on is validated.

Field names are SageMaker's. Errors read like SageMaker's (`1 validation error detected: Value null at
'roleArn' failed to satisfy constraint: Member must not be null`), so a person who knows the service knows
what went wrong; the hyperparameters go through the algorithm's own schema and keep its wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from roost.algorithm.hyperparameters import HyperparameterError, parse_hyperparameters
from roost.platform.errors import InvalidRequest
from roost.platform.service_model import enum

JOB_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
ROLE_ARN_PATTERN = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
CHANNEL_NAME_PATTERN = r"[A-Za-z0-9\.\-_]+"
# The workshop's registry URI (`<account>.dkr.ecr.<region>.amazonaws.com/image-classification:1`), any tag,
# or the plain name.
ALGORITHM_IMAGE = re.compile(r"^(?:[^/\s]+/)*image-classification(?::[\w][\w.\-]{0,127})?$")
# SageMaker's default when a request has no StoppingCondition: one day.
DEFAULT_MAX_RUNTIME_S = 86_400


def _pattern(pattern: str) -> Any:
    return Field(pattern=f"^{pattern}$")


class _Shape(BaseModel):
    # extra="allow": members roost does not act on are kept as sent and shown again by DescribeTrainingJob.
    model_config = ConfigDict(extra="allow", strict=True)


class S3DataSourceSpec(_Shape):
    S3DataType: Literal["ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse"]
    S3Uri: Annotated[str, Field(max_length=1024)]
    S3DataDistributionType: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"


class DataSourceSpec(_Shape):
    S3DataSource: S3DataSourceSpec | None = None


class ChannelSpec(_Shape):
    ChannelName: Annotated[str, Field(min_length=1, max_length=64), _pattern(CHANNEL_NAME_PATTERN)]
    DataSource: DataSourceSpec
    ContentType: Annotated[str, Field(max_length=256)] | None = None
    CompressionType: Literal["None", "Gzip"] = "None"
    RecordWrapperType: Literal["None", "RecordIO"] = "None"
    InputMode: Literal["Pipe", "File", "FastFile"] | None = None


class AlgorithmSpec(_Shape):
    TrainingInputMode: Literal["Pipe", "File", "FastFile"]
    TrainingImage: Annotated[str, Field(max_length=255)] | None = None
    AlgorithmName: str | None = None


class ResourceSpec(_Shape):
    InstanceType: str
    InstanceCount: Annotated[int, Field(ge=1)] = 1
    VolumeSizeInGB: Annotated[int, Field(ge=1)] = 30


class StoppingSpec(_Shape):
    MaxRuntimeInSeconds: Annotated[int, Field(ge=1)] = DEFAULT_MAX_RUNTIME_S


class OutputSpec(_Shape):
    S3OutputPath: Annotated[str, Field(min_length=1, max_length=1024)]


class CheckpointSpec(_Shape):
    S3Uri: Annotated[str, Field(max_length=1024)]


class CreateTrainingJobRequest(_Shape):
    TrainingJobName: Annotated[str, Field(min_length=1, max_length=63), _pattern(JOB_NAME_PATTERN)]
    RoleArn: Annotated[str, Field(min_length=20, max_length=2048), _pattern(ROLE_ARN_PATTERN)]
    AlgorithmSpecification: AlgorithmSpec
    HyperParameters: Annotated[
        dict[Annotated[str, Field(max_length=256)], Annotated[str, Field(max_length=2500)]],
        Field(max_length=100),
    ] = {}
    InputDataConfig: Annotated[list[ChannelSpec], Field(min_length=1, max_length=20)]
    OutputDataConfig: OutputSpec
    ResourceConfig: ResourceSpec
    StoppingCondition: StoppingSpec = StoppingSpec()
    Environment: Annotated[dict[str, str], Field(max_length=100)] = {}
    CheckpointConfig: CheckpointSpec | None = None


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
    if kind == "extra_forbidden":
        return "Member is not expected here"
    return f"Member must be valid: {error['msg']}"


def _detail(error: Mapping[str, Any]) -> str:
    where = _where(error["loc"])
    return f"Value {_value(error)} at '{where}' failed to satisfy constraint: {_constraint(error)}"


def validation_message(failure: pydantic.ValidationError) -> str:
    """pydantic errors as AWS words them: `N validation errors detected: Value ... at ... failed to ...`."""
    errors = failure.errors()
    details = "; ".join(_detail(e) for e in errors)
    count = len(errors)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {details}"


def _check_roost_support(request: CreateTrainingJobRequest) -> None:
    image = request.AlgorithmSpecification.TrainingImage
    if image is None or not ALGORITHM_IMAGE.match(image):
        raise InvalidRequest(
            f"AlgorithmSpecification.TrainingImage {image!r} is not the image-classification algorithm: "
            "roost runs SageMaker's built-in Image Classification only; use "
            "'<account>.dkr.ecr.<region>.amazonaws.com/image-classification:1' or 'image-classification'"
        )
    instance_types = enum("TrainingInstanceType")
    if request.ResourceConfig.InstanceType not in instance_types:
        raise InvalidRequest(
            f"1 validation error detected: Value '{request.ResourceConfig.InstanceType}' at "
            "'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value "
            f"set: [{', '.join(instance_types)}]"
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
    for channel in request.InputDataConfig:
        if channel.ChannelName in seen:
            raise InvalidRequest(f"Channel names must be unique: '{channel.ChannelName}' appears twice")
        seen.add(channel.ChannelName)
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
    """Every shape problem of a request at once, by member path ('TrainingJobName',
    'ResourceConfig.InstanceCount'), worded as in validation_message: what a form shows as it is typed."""
    try:
        CreateTrainingJobRequest.model_validate(raw)
    except pydantic.ValidationError as failure:
        return {".".join(map(str, e["loc"])): _detail(e) for e in failure.errors()}
    return {}


def parse_request(raw: Any) -> CreateTrainingJobRequest:
    """Validate a CreateTrainingJob request (decoded JSON); raise InvalidRequest in SageMaker's words.

    Checks everything that needs no storage: the shape, the algorithm, the instance type, the input modes,
    the hyperparameters. Channels and the output path are checked against storage by the caller.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRequest("The request body must be a JSON object")
    try:
        request = CreateTrainingJobRequest.model_validate(raw)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None
    _check_roost_support(request)
    try:
        parse_hyperparameters(request.HyperParameters)
    except HyperparameterError as error:
        raise InvalidRequest(str(error)) from None
    return request
