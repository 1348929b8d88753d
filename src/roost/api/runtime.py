"""SageMaker Runtime's InvokeEndpoint on the roost server: `POST /endpoints/{EndpointName}/invocations`,
the path botocore's `sagemaker-runtime` client uses, proxied to an instance of the endpoint.

The instance is the algorithm's hosting container (`roost serve`), so content types, Accept values, limits
and error texts are its own; this layer wraps its errors as SageMaker's runtime does (ModelError with
OriginalStatusCode and OriginalMessage) and answers for the endpoint itself (ValidationError for one that
is not serving, ServiceUnavailable while an instance is being replaced). Connections to the instances are
kept alive, so the proxy costs a fraction of a millisecond.
"""

from __future__ import annotations

import socket

import httpx
from starlette.requests import Request
from starlette.responses import Response

from roost.inference.hosting_app import InvocationError, model_error, read_invocation_body, runtime_error
from roost.platform.endpoint_processes import log_group
from roost.platform.errors import EndpointNotFound, EndpointUnavailable
from roost.platform.services import Platform

CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
TARGET_VARIANT = "x-amzn-sagemaker-target-variant"
_FORWARDED = ("content-type", "accept", CUSTOM_ATTRIBUTES)
# SageMaker gives a container 60 seconds to answer an invocation.
INVOCATION_TIMEOUT_S = 60.0
# Below uvicorn's 5 s keep-alive, so that the proxy never reuses a connection the instance is closing.
KEEPALIVE_S = 4.0


class Runtime:
    """The InvokeEndpoint route over a platform, with one pool of keep-alive connections to instances."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, inside the server's event loop, which its connections belong to.
        if self._client is None:
            limits = httpx.Limits(
                max_connections=256, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_S
            )
            # Nagle off: a request's headers and body go out as two writes, and with Nagle the body
            # would wait for the ACK of the headers, which the instance delays by ~40 ms.
            transport = httpx.AsyncHTTPTransport(
                limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            )
            self._client = httpx.AsyncClient(
                transport=transport, timeout=httpx.Timeout(INVOCATION_TIMEOUT_S, connect=5.0)
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def invoke(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            body = await read_invocation_body(request)
        except InvocationError as error:
            return runtime_error(400, "ValidationError", {"Message": error.message})
        try:
            variant, instance = self.platform.endpoints.route(name, request.headers.get(TARGET_VARIANT))
        except EndpointNotFound as error:
            return runtime_error(400, "ValidationError", {"Message": str(error)})
        except EndpointUnavailable as error:
            return runtime_error(503, "ServiceUnavailable", {"Message": str(error)})
        headers = {key: value for key in _FORWARDED if (value := request.headers.get(key)) is not None}
        try:
            answer = await self._http().post(f"{instance.url}/invocations", content=body, headers=headers)
        except httpx.TimeoutException:
            return model_error(
                408,
                "Your invocation timed out while waiting for a response from container primary.",
                see=f"the log group {log_group(name)}",
            )
        except httpx.TransportError as error:
            return runtime_error(
                503,
                "ServiceUnavailable",
                {"Message": f"Variant {variant.name} of endpoint {name} did not answer ({error}); retry."},
            )
        if answer.status_code != 200:
            return model_error(
                answer.status_code,
                answer.text,
                see=f"the log stream {instance.stream.name} of {log_group(name)}",
            )
        out = {"x-Amzn-Invoked-Production-Variant": variant.name}
        if CUSTOM_ATTRIBUTES in answer.headers:
            out[CUSTOM_ATTRIBUTES] = answer.headers[CUSTOM_ATTRIBUTES]
        return Response(answer.content, media_type=answer.headers.get("content-type"), headers=out)
