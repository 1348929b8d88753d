"""The hosting contract of SageMaker's image-classification container (docs/algorithm.md §7), as a Starlette
app.

    GET  /ping                          200 once the model is loaded (it is, before the port opens)
    POST /invocations                   the container's own route: plain-text errors, as the algorithm sends
    POST /endpoints/{name}/invocations  SageMaker Runtime's InvokeEndpoint route, so that boto3's
                                        `sagemaker-runtime` client works with `endpoint_url`; errors come
                                        wrapped as the service wraps them (ModelError, HTTP 424)

One model per server: every endpoint name reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from roost.http_body import BodyTooLarge, read_body
from roost.inference.batching import BatchingWorker
from roost.inference.predictor import Predictor
from roost.inference.preprocess import ImageError, Preprocessor
from roost.machine import available_cores

CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-image")
JSON = "application/json"
JSONLINES = "application/jsonlines"
ACCEPT_TYPES = (JSON, JSONLINES)
# InvokeEndpoint's payload limit (6 MB).
MAX_BODY_BYTES = 6 << 20
# A larger body is still read (and dropped) up to this size, so that the client gets its 413 instead of a
# connection reset in the middle of sending; beyond it the connection is closed.
DRAIN_BYTES = 64 << 20
SERVER_ERROR = "Internal Server Error occured"  # sic: the wording of AWS's template (docs/algorithm.md §7)

log = logging.getLogger("roost.inference")


class InvocationError(Exception):
    """A request the endpoint refuses: HTTP status and the text the container answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def response_type(accept: str | None) -> str:
    """The first supported type the Accept header lists; JSON for none, `*/*` or `application/*`."""
    if not accept or not accept.strip():
        return JSON
    for part in accept.split(","):
        media = _media_type(part)
        if media in ACCEPT_TYPES:
            return media
        if media in ("*/*", "application/*"):
            return JSON
    raise InvocationError(
        406, f"ClientError: Invalid accept type {accept!r}. Accepted accept types are {list(ACCEPT_TYPES)}"
    )


def _too_large(size: str) -> InvocationError:
    return InvocationError(
        413,
        f"ClientError: the request body is {size} bytes; an invocation takes at most {MAX_BODY_BYTES} (6 MB)",
    )


async def read_invocation_body(request: Request) -> bytes:
    """The body, refused (InvocationError 413) past MAX_BODY_BYTES."""
    try:
        return await read_body(request, MAX_BODY_BYTES, drain=DRAIN_BYTES)
    except BodyTooLarge as error:
        raise _too_large(error.size) from None


def encode(probabilities: np.ndarray, media_type: str) -> bytes:
    """SageMaker's answer bodies: a JSON array, or one `{"prediction": [...]}` line."""
    values = probabilities.tolist()
    if media_type == JSONLINES:
        return (json.dumps({"prediction": values}) + "\n").encode()
    return json.dumps(values).encode()


class Endpoint:
    """Prepares images on a thread pool, predicts on the batching worker, answers with probabilities."""

    def __init__(self, predictor: Predictor, preprocessor: Preprocessor, max_batch: int) -> None:
        self.predictor = predictor
        self.preprocessor = preprocessor
        self.worker = BatchingWorker(predictor.predict, max_batch)
        # Decoding holds at most this many images in memory at once (a 64-megapixel one is 192 MB).
        self.pool = ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="roost-decode")

    @contextlib.asynccontextmanager
    async def running(self, _app: Starlette) -> AsyncIterator[None]:
        self.worker.start()
        try:
            # One pass before the first request: kernels get chosen now, and a model that cannot run
            # fails at start rather than on every invocation.
            channels, height, width = self.predictor.image_shape
            await self.worker.predict(np.zeros((height, width, channels), np.uint8))
            yield
        finally:
            await asyncio.to_thread(self.worker.stop)
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def invoke(self, request: Request) -> tuple[bytes, str]:
        """(body, media type) of the answer, or InvocationError."""
        body = await read_invocation_body(request)
        content_type = _media_type(request.headers.get("content-type", ""))
        if content_type not in CONTENT_TYPES:
            raise InvocationError(
                400, f"ClientError: Invalid content type. Accepted content types are {list(CONTENT_TYPES)}"
            )
        media_type = response_type(request.headers.get("accept"))
        try:
            pixels = await asyncio.get_running_loop().run_in_executor(self.pool, self.preprocessor, body)
        except ImageError as error:
            raise InvocationError(
                400, f"ClientError: Loading image data failed with exception: {error}"
            ) from None
        probabilities = await self.worker.predict(pixels)
        return encode(probabilities, media_type), media_type

    async def ping(self, _request: Request) -> Response:
        return Response(status_code=200)

    async def invocations(self, request: Request) -> Response:
        try:
            body, media_type = await self.invoke(request)
        except InvocationError as error:
            return PlainTextResponse(error.message, status_code=error.status)
        except Exception:
            log.exception("invocation failed")
            return PlainTextResponse(SERVER_ERROR, status_code=500)
        return Response(body, media_type=media_type)

    async def runtime_invocations(self, request: Request) -> Response:
        """InvokeEndpoint: the model's errors wrapped in SageMaker Runtime's ModelError, as boto3 expects."""
        try:
            body, media_type = await self.invoke(request)
        except InvocationError as error:
            if error.status == 413:
                return runtime_error(400, "ValidationError", {"Message": error.message})
            return model_error(error.status, error.message)
        except Exception:
            log.exception("invocation failed")
            return model_error(500, SERVER_ERROR)
        return Response(
            body, media_type=media_type, headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
        )


def runtime_error(status: int, code: str, fields: dict[str, object]) -> Response:
    return JSONResponse(fields, status_code=status, headers={"x-amzn-ErrorType": code})


def model_error(status: int, message: str, see: str = "the roost serve log", **fields: object) -> Response:
    """SageMaker Runtime's ModelError (HTTP 424) for a container's error answer; `see` says where its
    log is, `fields` adds members (LogStreamArn)."""
    side = "client" if status < 500 else "server"
    return runtime_error(
        424,
        "ModelError",
        {
            "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
            "OriginalStatusCode": status,
            "OriginalMessage": message,
            "Message": f'Received {side} error ({status}) from primary with message "{message}". '
            f"See {see} for more information.",
            **fields,
        },
    )


def create_app(predictor: Predictor, preprocessor: Preprocessor, max_batch: int) -> Starlette:
    endpoint = Endpoint(predictor, preprocessor, max_batch)
    routes = [
        Route("/ping", endpoint.ping, methods=["GET"]),
        Route("/invocations", endpoint.invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", endpoint.runtime_invocations, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=endpoint.running)
