"""boto3 clients for a roost server, as `roost jobs` and `roost logs` use them: the AWS CLI's API."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

DEFAULT_PORT = 8765
DEFAULT_ENDPOINT = os.environ.get("ROOST_ENDPOINT_URL", f"http://127.0.0.1:{DEFAULT_PORT}")
T = TypeVar("T")


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for `sagemaker` or `logs` at the server; unsigned, so no AWS credentials are needed."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    region = boto3.session.Session().region_name or "us-east-1"
    config = Config(signature_version=UNSIGNED, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


@contextmanager
def server_errors(endpoint_url: str) -> Iterator[None]:
    """AWS errors and an unreachable server as UserError: the message, no traceback."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    from roost.errors import UserError

    try:
        yield
    except EndpointConnectionError:
        raise UserError(
            f"cannot reach a roost server at {endpoint_url}: start one with `roost server`, or pass "
            "--endpoint-url (or set ROOST_ENDPOINT_URL)"
        ) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        raise UserError(f"{details.get('Code')}: {details.get('Message')}") from None


def call(endpoint_url: str, operation: Callable[..., T], **arguments: Any) -> T:
    with server_errors(endpoint_url):
        return operation(**arguments)
