"""SageMaker's API model as botocore ships it: the one source for enums and member lists we must match."""

from __future__ import annotations

import functools
from typing import Any

from botocore.loaders import Loader


@functools.cache
def _shapes() -> dict[str, Any]:
    return Loader().load_service_model("sagemaker", "service-2")["shapes"]


def enum(shape: str) -> tuple[str, ...]:
    """The values of an enum shape, e.g. `TrainingInstanceType`."""
    return tuple(_shapes()[shape]["enum"])


def members(shape: str) -> tuple[str, ...]:
    """The member names of a structure shape, e.g. `DescribeTrainingJobResponse`."""
    return tuple(_shapes()[shape]["members"])
