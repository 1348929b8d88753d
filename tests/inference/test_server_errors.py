"""A model failing at run time: a 500 with SageMaker's text, the cause in the log, then recovery."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import httpx
import numpy as np
import uvicorn
from endpoint_helpers import encode

from photos import photo
from roost.http_listener import listen
from roost.inference.hosting_app import SERVER_ERROR, create_app
from roost.inference.preprocess import Preprocessor


def failing_model(fail: list[bool]) -> SimpleNamespace:
    def predict(images: np.ndarray) -> np.ndarray:
        if fail[0]:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return np.full((len(images), 4), 0.25, np.float32)

    return SimpleNamespace(image_shape=(3, 28, 28), predict=predict)


def test_a_failing_model_answers_500_and_recovers(caplog):
    fail = [False]
    app = create_app(failing_model(fail), Preprocessor((3, 28, 28)), max_batch=4)
    listener = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    body = encode(photo(30, 30, seed=1))
    headers = {"Content-Type": "image/png"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}") as client:
            fail[0] = True
            response = client.post("/invocations", content=body, headers=headers)
            assert (response.status_code, response.text) == (500, SERVER_ERROR)
            runtime = client.post("/endpoints/birds/invocations", content=body, headers=headers)
            assert runtime.status_code == 424 and runtime.headers["x-amzn-ErrorType"] == "ModelError"
            assert runtime.json()["OriginalStatusCode"] == 500
            assert runtime.json()["Message"].startswith("Received server error (500) from primary")
            fail[0] = False
            assert client.post("/invocations", content=body, headers=headers).json() == [0.25] * 4
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert "illegal memory access" in caplog.text  # the cause is in the server log, not in the answer
