"""The platform's errors, one per AWS error code that a front door answers with."""

from __future__ import annotations

from roost.errors import UserError


class InvalidRequest(UserError):
    """The request breaks a constraint (SageMaker's `ValidationException`)."""


class JobExists(UserError):
    """A training job of that name exists already (SageMaker's `ResourceInUse`)."""


class JobNotFound(UserError):
    """No training job of that name (SageMaker answers `ValidationException`, not `ResourceNotFound`)."""


class ResourceNotFound(UserError):
    """No resource of that name, where SageMaker answers `ResourceNotFound` (a hyperparameter tuning job)."""


class LogResourceNotFound(UserError):
    """No such log group or log stream (CloudWatch Logs' `ResourceNotFoundException`)."""


class InvalidLogParameter(UserError):
    """A CloudWatch Logs parameter is invalid (`InvalidParameterException`)."""


class InvalidMetricParameter(UserError):
    """A CloudWatch parameter is invalid (`InvalidParameterValue`)."""


class MissingMetricParameter(UserError):
    """A required CloudWatch parameter is missing (`MissingParameter`)."""


class InvalidMetricParameterCombination(UserError):
    """CloudWatch parameters that cannot go together (`InvalidParameterCombination`)."""


class EndpointNotFound(UserError):
    """InvokeEndpoint on an endpoint that is not serving (SageMaker Runtime's `ValidationError`)."""


class EndpointUnavailable(UserError):
    """No instance of the chosen variant can take a request now (SageMaker Runtime's `ServiceUnavailable`)."""


class S3Error(UserError):
    """An S3 error: its code (NoSuchKey, BadDigest, ...), HTTP status, message and what it is about."""

    def __init__(self, status: int, code: str, message: str, resource: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.resource = status, code, message, resource
