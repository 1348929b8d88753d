"""`roost serve` driven over HTTP by real clients (httpx, boto3) against a real server process."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import numpy as np
import pytest
from botocore.config import Config
from endpoint_helpers import bomb_png, encode, reference

from photos import photo

JPEG = encode(photo(120, 80, seed=1), ".jpg")
PNG = encode(photo(64, 96, seed=2), ".png")


@pytest.fixture(scope="module")
def http(endpoint):
    with httpx.Client(base_url=endpoint.url, timeout=30) as client:
        yield client


def invoke(http, body: bytes, content_type: str = "application/x-image", **headers) -> httpx.Response:
    return http.post("/invocations", content=body, headers={"Content-Type": content_type, **headers})


def assert_alive(http):
    started = time.perf_counter()
    assert http.get("/ping").status_code == 200
    assert time.perf_counter() - started < 2  # SageMaker's health-check deadline


def test_ping(http):
    response = http.get("/ping")
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/x-image"])
@pytest.mark.parametrize("payload", [JPEG, PNG], ids=["jpeg-bytes", "png-bytes"])
def test_every_content_type_gives_the_networks_probabilities(http, tiny_model, content_type, payload):
    response = invoke(http, payload, content_type)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    probabilities = json.loads(response.content)
    assert isinstance(probabilities, list) and len(probabilities) == 4
    expected = reference(tiny_model.network, payload, tiny_model.image_shape)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-5)


def test_content_type_parameters_and_case_are_ignored(http):
    assert invoke(http, PNG, "Image/PNG; charset=binary").status_code == 200


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/*", "text/html, application/json"]
)
def test_json_answers(http, accept):
    response = invoke(http, JPEG, Accept=accept)
    assert response.status_code == 200
    assert len(json.loads(response.content)) == 4


def test_jsonlines_answers_one_prediction_line(http):
    as_json = json.loads(invoke(http, JPEG).content)
    response = invoke(http, JPEG, Accept="application/jsonlines")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jsonlines"
    assert response.text.endswith("\n") and response.text.count("\n") == 1
    assert json.loads(response.text) == {"prediction": as_json}


def test_a_wrong_accept_is_406_with_the_accepted_types(http):
    response = invoke(http, JPEG, Accept="text/csv")
    assert response.status_code == 406
    assert response.text.startswith("ClientError: Invalid accept type 'text/csv'")
    assert "application/jsonlines" in response.text
    assert_alive(http)


@pytest.mark.parametrize("content_type", ["text/csv", "application/x-recordio", "application/jsonlines", ""])
def test_a_wrong_content_type_is_sagemakers_client_error(http, content_type):
    response = invoke(http, JPEG, content_type)
    assert response.status_code == 400
    assert response.text == (
        "ClientError: Invalid content type. Accepted content types are "
        "['image/jpeg', 'image/png', 'application/x-image']"
    )
    assert_alive(http)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "image/jpeg", "the request body is empty"),
        (JPEG[: len(JPEG) // 2], "image/jpeg", "image file is truncated"),
        (b"Hello, this is a text file, not a bird.\n" * 50, "image/png", "not an image"),
        (bomb_png(), "image/png", "10000 x 10000 pixels"),
    ],
    ids=["empty", "truncated-jpeg", "text-as-png", "decompression-bomb"],
)
def test_bad_images_are_400_and_the_server_carries_on(http, endpoint, body, content_type, reason):
    response = invoke(http, body, content_type)
    assert response.status_code == 400
    assert response.text.startswith("ClientError: Loading image data failed with exception: ")
    assert reason in response.text
    assert_alive(http)
    assert invoke(http, JPEG).status_code == 200
    assert not any("Warning" in line or "Traceback" in line for line in endpoint.log)


def test_a_body_over_6_mb_is_413_and_the_server_carries_on(http):
    response = invoke(http, b"\xff" * (6 * 1024 * 1024 + 1), "image/jpeg")
    assert response.status_code == 413
    assert "at most 6291456 (6 MB)" in response.text
    assert_alive(http)
    # Exactly 6 MB is within the limit (and then not an image).
    assert invoke(http, b"\xff" * (6 * 1024 * 1024), "image/jpeg").status_code == 400


def test_a_huge_declared_body_is_refused_before_it_is_read(endpoint):
    # A raw socket: declare 1 GB, send nothing more; the answer must come at once.
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(endpoint.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")


def test_get_on_invocations_is_not_allowed(http):
    assert http.get("/invocations").status_code == 405


def test_ping_answers_while_predictions_run(http, endpoint):
    with httpx.Client(base_url=endpoint.url, timeout=30) as other, ThreadPoolExecutor(8) as pool:
        busy = [pool.submit(invoke, other, PNG) for _ in range(64)]
        pings = []
        while not all(f.done() for f in busy):
            started = time.perf_counter()
            assert http.get("/ping").status_code == 200
            pings.append(time.perf_counter() - started)
        assert all(f.result().status_code == 200 for f in busy)
    assert max(pings) < 2


def runtime(endpoint):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_invoke_endpoint(endpoint, tiny_model):
    response = runtime(endpoint).invoke_endpoint(
        EndpointName="birds", ContentType="application/x-image", Body=JPEG
    )
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    probabilities = json.loads(response["Body"].read())
    np.testing.assert_allclose(probabilities, reference(tiny_model.network, JPEG, (3, 28, 28)), atol=1e-5)


def test_boto3_jsonlines(endpoint):
    response = runtime(endpoint).invoke_endpoint(
        EndpointName="birds", ContentType="image/png", Accept="application/jsonlines", Body=PNG
    )
    assert len(json.loads(response["Body"].read())["prediction"]) == 4


def test_boto3_sees_the_models_errors_as_sagemaker_runtime_reports_them(endpoint):
    client = runtime(endpoint)
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="birds", ContentType="text/csv", Body=b"1,2,3")
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"].startswith("ClientError: Invalid content type.")
    assert 'Received client error (400) from primary with message "ClientError: Invalid' in str(caught.value)


def test_boto3_over_6_mb_is_a_validation_error(endpoint):
    client = runtime(endpoint)
    with pytest.raises(client.exceptions.ValidationError, match="6 MB"):
        client.invoke_endpoint(EndpointName="birds", ContentType="image/jpeg", Body=b"\0" * (7 << 20))


def test_500_requests_from_32_clients_without_error_and_memory_flat(endpoint):
    payloads = [encode(photo(40 + i, 60 - i, seed=100 + i), ".jpg") for i in range(16)]
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with (
        httpx.Client(base_url=endpoint.url, timeout=60, limits=limits) as client,
        ThreadPoolExecutor(32) as pool,
    ):

        def one(i: int) -> tuple[int, int]:
            response = invoke(client, payloads[i % len(payloads)])
            return response.status_code, len(
                json.loads(response.content)
            ) if response.status_code == 200 else 0

        assert set(pool.map(one, range(100))) == {(200, 4)}  # warm-up: allocator pools, connections
        before = endpoint.rss_bytes()
        assert set(pool.map(one, range(500))) == {(200, 4)}
        after = endpoint.rss_bytes()
    assert after - before < 20 << 20, f"RSS grew from {before >> 20} MB to {after >> 20} MB"


def test_connections_are_accepted_with_nagle_off():
    # With Nagle on, every answer after a connection's first waited ~40 ms for the client's delayed ACK.
    import asyncio
    import socket

    from roost.http_listener import listen

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listen("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(nodelay_of_an_accepted_connection()) != 0
