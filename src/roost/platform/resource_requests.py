"""What the hosting resources' requests share: botocore's name pattern, a lenient shape, SageMaker's
"Could not find" answer, and `parse`: botocore's input shape first, then the fields roost acts on."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from roost.platform.api_shapes import parse_input
from roost.platform.errors import InvalidRequest
from roost.platform.tags import parse_model

# EndpointName, ModelName, EndpointConfigName and TransformJobName share this pattern in botocore.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
ResourceName = Annotated[str, Field(min_length=1, max_length=63, pattern=NAME_PATTERN)]


class RequestShape(BaseModel):
    # Members roost does not act on are kept as sent and shown again by Describe.
    model_config = ConfigDict(extra="allow", strict=True)


def not_found(kind: str, arn: str) -> InvalidRequest:
    # SageMaker answers a missing model, endpoint configuration, endpoint or transform job with a
    # ValidationException.
    return InvalidRequest(f'Could not find {kind} "{arn}".')


def parse(model: type[BaseModel], raw: Any, operation: str | None = None) -> Any:
    """`model` of a request; with `operation`, checked against botocore's input shape first. Errors are
    InvalidRequest in SageMaker's words."""
    return parse_model(model, parse_input(operation, raw) if operation else raw)
