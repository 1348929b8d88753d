"""What the hosting resources' requests share: botocore's name pattern, a lenient shape, SageMaker's
"Could not find" answer. Validation errors go through `tags.parse_model`, in SageMaker's words."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from roost.platform.errors import InvalidRequest
from roost.platform.tags import parse_model as parse

# EndpointName, ModelName, EndpointConfigName and TransformJobName share this pattern in botocore.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
ResourceName = Annotated[str, Field(min_length=1, max_length=63, pattern=NAME_PATTERN)]

__all__ = ["NAME_PATTERN", "RequestShape", "ResourceName", "not_found", "parse"]


class RequestShape(BaseModel):
    # Members roost does not act on are kept as sent and shown again by Describe.
    model_config = ConfigDict(extra="allow", strict=True)


def not_found(kind: str, arn: str) -> InvalidRequest:
    # SageMaker answers a missing model, endpoint configuration, endpoint or transform job with a
    # ValidationException.
    return InvalidRequest(f'Could not find {kind} "{arn}".')
