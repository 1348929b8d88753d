"""The AWS API models as botocore ships them: the one source for the shapes and members we must match."""

from __future__ import annotations

import functools

from botocore.model import ServiceModel
from botocore.session import get_session


@functools.cache
def service(name: str = "sagemaker") -> ServiceModel:
    """A service's model (`sagemaker`, `logs`, ...): operations with their input and output shapes."""
    return get_session().get_service_model(name)


def members(shape: str) -> tuple[str, ...]:
    """The member names of a SageMaker structure shape, e.g. `DescribeTrainingJobResponse`."""
    return tuple(service().shape_for(shape).members)
