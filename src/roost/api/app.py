"""The roost server's HTTP app: `POST /` speaks AWS's JSON protocol, `GET /` is the web console.

`X-Amz-Target: SageMaker.<Operation>` or `Logs_20140328.<Operation>` picks the operation, as in AWS, so the
AWS CLI, boto3 and the SageMaker SDK work against it with only `--endpoint-url`. Errors are AWS error bodies
(`{"__type": ..., "message": ...}`), which those clients turn into their usual error codes; a bug answers
500 `InternalFailure` with no traceback in the body (the traceback goes to the server's log).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roost.api import (
    console,
    log_operations,
    metric_operations,
    tag_operations,
    training_job_operations,
    tuning_job_operations,
)
from roost.api.host_guard import HostGuard
from roost.http_body import BodyTooLarge, read_body
from roost.platform.errors import (
    InvalidLogParameter,
    InvalidMetricParameter,
    InvalidMetricParameterCombination,
    InvalidRequest,
    JobExists,
    JobNotFound,
    LogResourceNotFound,
    MissingMetricParameter,
    ResourceNotFound,
)
from roost.platform.services import Platform
from roost.platform.training_jobs import DEFAULT_REGION

MAX_BODY_BYTES = 1_048_576
CONTENT_TYPE = "application/x-amz-json-1.1"
Operation = Callable[[Platform, dict[str, Any], str], dict[str, Any]]
# X-Amz-Target prefix -> operation name -> handler; each resource's module brings its own table.
SERVICES: dict[str, dict[str, Operation]] = {
    "SageMaker": {
        **training_job_operations.OPERATIONS,
        **tag_operations.OPERATIONS,
        **tuning_job_operations.OPERATIONS,
    },
    "Logs_20140328": {**log_operations.OPERATIONS},
    "GraniteServiceVersion20100801": {**metric_operations.OPERATIONS},  # CloudWatch
}
ERROR_CODES: dict[type[Exception], str] = {
    InvalidRequest: "ValidationException",
    JobExists: "ResourceInUse",
    JobNotFound: "ValidationException",
    ResourceNotFound: "ResourceNotFound",
    LogResourceNotFound: "ResourceNotFoundException",
    InvalidLogParameter: "InvalidParameterException",
    InvalidMetricParameter: "InvalidParameterValue",
    MissingMetricParameter: "MissingParameter",
    InvalidMetricParameterCombination: "InvalidParameterCombination",
}
_REGION = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/")
log = logging.getLogger("roost.api")


def _response(status: int, body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def aws_error(status: int, code: str, message: str) -> Response:
    return _response(status, {"__type": code, "message": message})


def create_app(
    platform: Platform, *, run_jobs: bool = True, host_names: frozenset[str] = frozenset()
) -> Starlette:
    """The app over `platform`; with run_jobs, its lifespan starts the platform and finally closes it.

    It answers only requests for IP addresses, localhost and `host_names` (see `host_guard`)."""

    async def call(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        service, _, name = target.partition(".")
        operation = SERVICES.get(service, {}).get(name)
        if operation is None:
            return aws_error(400, "UnknownOperationException", f"Unknown operation '{target}'")
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return aws_error(
                413, "RequestEntityTooLargeException", f"Request body is larger than {MAX_BODY_BYTES} bytes"
            )
        try:
            payload = json.loads(body or b"{}", parse_constant=_refuse_constant)
        except RecursionError:
            return aws_error(400, "SerializationException", "The request body is nested too deeply")
        except ValueError as error:  # not JSON, not UTF-8, an integer of thousands of digits, NaN
            return aws_error(400, "SerializationException", f"The request body is not valid JSON: {error}")
        if not isinstance(payload, dict):
            return aws_error(400, "SerializationException", "The request body must be a JSON object")
        found = _REGION.search(request.headers.get("authorization", ""))
        region = found.group(1) if found else DEFAULT_REGION
        try:
            return _response(200, await run_in_threadpool(operation, platform, payload, region))
        except tuple(ERROR_CODES) as error:
            code = next(c for kind, c in ERROR_CODES.items() if isinstance(error, kind))
            return aws_error(400, code, str(error))
        except Exception:
            log.exception("%s failed", target)
            return aws_error(500, "InternalFailure", f"{target} failed inside the roost server; see its log")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_jobs:
            platform.start()
        yield
        if run_jobs:
            await run_in_threadpool(platform.close)

    routes = [
        Route("/", call, methods=["POST"]),
        Route("/", console.job_list(platform.training_jobs), methods=["GET"]),
        Route("/jobs/{name}", console.job_page(platform.training_jobs), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(HostGuard, names=host_names)])
