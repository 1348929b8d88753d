"""The roost server's HTTP app: `POST /` speaks AWS's JSON protocol, `GET /` is the web console, and
requests signed for S3 go to the S3 API on the data root, whatever their path (api/s3.py).

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
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from roost.api import (
    endpoint_operations,
    log_operations,
    metric_operations,
    model_operations,
    query_protocol,
    s3,
    s3_xml,
    tag_operations,
    training_job_operations,
    transform_job_operations,
    tuning_job_operations,
)
from roost.api.host_guard import HostGuard
from roost.api.runtime import Runtime
from roost.console import routes as console_routes
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
    S3Error,
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
        **model_operations.OPERATIONS,
        **endpoint_operations.OPERATIONS,
        **transform_job_operations.OPERATIONS,
        **tuning_job_operations.OPERATIONS,
    },
    "Logs_20140328": {**log_operations.OPERATIONS},
    "GraniteServiceVersion20100801": {**metric_operations.OPERATIONS},  # CloudWatch
}
# The query protocol's: credential scope (signing name) -> botocore's service name and its operations.
QUERY_SERVICES: dict[str, tuple[str, dict[str, Operation]]] = {
    "monitoring": ("cloudwatch", SERVICES["GraniteServiceVersion20100801"]),
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
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")  # region, signing name
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


class S3Dispatch:
    """Sends requests signed for S3 to the S3 API before routing: S3's paths (`/BUCKET/KEY`, `GET /`)
    are any paths, so only the signature's credential scope tells them from the console and `POST /`."""

    def __init__(self, app: ASGIApp, platform: Platform) -> None:
        self.app = app
        objects, uploads = platform.objects, platform.uploads
        self.s3 = s3.S3Api(objects, uploads) if objects is not None and uploads is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if s3.is_s3_request(headers, scope.get("query_string", b"").decode("latin-1")):
                request = Request(scope, receive)
                if self.s3 is None:
                    refused = S3Error(
                        501,
                        "NotImplemented",
                        "This roost server keeps s3:// URIs in the S3-compatible store of its "
                        "--s3-endpoint-url: send S3 requests there",
                    )
                    response = s3_xml.error_response(refused, request.method)
                else:
                    response = await self.s3(request)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    platform: Platform, *, run_jobs: bool = True, host_names: frozenset[str] = frozenset()
) -> Starlette:
    """The app over `platform`; with run_jobs, its lifespan starts the platform and finally closes it.

    It answers only requests for IP addresses, localhost and `host_names` (see `host_guard`)."""

    async def invoke(
        operation: Operation, payload: dict[str, Any], region: str, target: str
    ) -> tuple[int, Any]:
        """(200, the response) or (status, the AWS error body) of one operation."""
        try:
            return 200, await run_in_threadpool(operation, platform, payload, region)
        except tuple(ERROR_CODES) as error:
            code = next(c for kind, c in ERROR_CODES.items() if isinstance(error, kind))
            return 400, {"__type": code, "message": str(error)}
        except Exception:
            log.exception("%s failed", target)
            return 500, {
                "__type": "InternalFailure",
                "message": f"{target} failed inside the roost server; see its log",
            }

    async def call(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        scope = _SCOPE.search(request.headers.get("authorization", ""))
        region, signing_name = (scope.group(1), scope.group(2)) if scope else (DEFAULT_REGION, "")
        if not target and signing_name in QUERY_SERVICES:
            return await query_call(request, region, signing_name)
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
        return _response(*await invoke(operation, payload, region, target))

    async def query_call(request: Request, region: str, signing_name: str) -> Response:
        """The query protocol (form in, XML out) that older clients use for CloudWatch."""
        service, operations = QUERY_SERVICES[signing_name]

        def xml(status: int, body: bytes) -> Response:
            return Response(body, status_code=status, media_type="text/xml")

        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            too_large = f"Request body is larger than {MAX_BODY_BYTES} bytes"
            return xml(413, query_protocol.render_error(service, "RequestEntityTooLarge", too_large))
        fields = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        action = dict(fields).get("Action", "")
        model = query_protocol.operation_model(service, action)
        operation = operations.get(action) if model else None
        if model is None or operation is None:
            return xml(
                400, query_protocol.render_error(service, "InvalidAction", f"Unknown action '{action}'")
            )
        try:
            payload = query_protocol.parse(fields, model)
        except query_protocol.MalformedQueryString as error:
            return xml(400, query_protocol.render_error(service, "MalformedQueryString", str(error)))
        status, answer = await invoke(operation, payload, region, f"{service}.{action}")
        if status != 200:
            error_body = query_protocol.render_error(
                service, answer["__type"], answer["message"], status < 500
            )
            return xml(status, error_body)
        return xml(200, query_protocol.render(service, model, answer))

    runtime = Runtime(platform)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_jobs:
            platform.start()
        yield
        await runtime.close()
        if run_jobs:
            await run_in_threadpool(platform.close)

    routes = [
        Route("/", call, methods=["POST"]),
        Route("/endpoints/{name}/invocations", runtime.invoke, methods=["POST"]),
        *console_routes(platform),
    ]
    # The Host check first: S3 requests are this server's too.
    middleware = [Middleware(HostGuard, names=host_names), Middleware(S3Dispatch, platform=platform)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
