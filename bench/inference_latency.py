"""Latency and throughput of `roost serve` for ResNet-18 and ResNet-152 at 224 x 224, with what bounds them.

    python bench/inference_latency.py [--layers 18 152] [--single 40] [--clients 16] [--seconds 20]

For each depth: writes an untrained artifact of that network, starts `roost serve` on a free port (once
with batching, --max-batch 16, once without, --max-batch 1), and measures over HTTP with httpx:
  - single-image latency: one client, requests one after another (p50, p99);
  - throughput: --clients concurrent clients for --seconds (images/s, and their latency p50/p99).
Then, in this process, the parts of one request: decode + squash of the photo, and the network alone at
batch 1 and batch 16, so that the HTTP numbers can be read as "decode-bound", "network-bound", etc.
The photo is a synthetic 800 x 600 JPEG (a typical NABirds photo size), the same for every request.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import torch

from roost.algorithm.hyperparameters import parse_hyperparameters
from roost.algorithm.model_artifact import ModelWriter
from roost.algorithm.network import build_network
from roost.inference.predictor import Predictor
from roost.inference.preprocess import Preprocessor

SHAPE = (3, 224, 224)


def photo_jpeg(width: int = 800, height: int = 600) -> bytes:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    image = 90 + 0.1 * x[..., None] * [1, 0.5, 0.2] + 0.15 * y[..., None] * [0.2, 0.6, 1]
    image = cv2.GaussianBlur(image + rng.normal(0, 25, image.shape), (5, 5), 1.5)
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def write_artifact(root: Path, layers: int) -> Path:
    model = build_network(layers, 4, SHAPE)
    hp = parse_hyperparameters(
        {
            "num_classes": "4",
            "num_training_samples": "16",
            "num_layers": str(layers),
            "image_shape": "3,224,224",
        }
    )
    folder = root / f"resnet{layers}"
    ModelWriter(folder, model, hp, None).save(1, keep_earlier=False)
    archive = root / f"resnet{layers}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in folder.iterdir():
            tar.add(path, arcname=path.name)
    return archive


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def start(archive: Path, max_batch: int) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable,
        "-m",
        "roost",
        "serve",
        str(archive),
        "--port",
        "0",
        "--max-batch",
        str(max_batch),
    ]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    for line in server.stderr:
        found = re.search(r"listening on (\S+)", line)
        if found:
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1)
    raise SystemExit("roost serve did not start")


def invoke(client: httpx.Client, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post(f"{url}/invocations", content=body, headers={"Content-Type": "image/jpeg"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


def single(url: str, body: bytes, count: int) -> list[float]:
    with httpx.Client(timeout=120) as client:
        for _ in range(3):
            invoke(client, url, body)
        return [invoke(client, url, body) for _ in range(count)]


def concurrent(url: str, body: bytes, clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(timeout=300) as client:
            while time.perf_counter() < deadline:
                elapsed = invoke(client, url, body)
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def in_process_parts(archive: Path, body: bytes) -> dict[str, float]:
    """Median seconds of decode+squash for one photo, and of the network at batch 1 and 16 (per image)."""
    predictor = Predictor.load(archive)
    prepare = Preprocessor(SHAPE)
    image = prepare(body)
    decode = statistics.median(timed(lambda: prepare(body)) for _ in range(30))
    one = image[None]
    sixteen = np.stack([image] * 16)
    predictor.predict(sixteen)
    forward1 = statistics.median(timed(lambda: predictor.predict(one)) for _ in range(10))
    forward16 = statistics.median(timed(lambda: predictor.predict(sixteen)) for _ in range(3)) / 16
    return {"decode": decode, "forward1": forward1, "forward16": forward16}


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, nargs="+", default=[18, 152])
    parser.add_argument("--single", type=int, default=40, help="sequential requests for the latency")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    body = photo_jpeg()
    print(
        f"CPU: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"load average before: {os.getloadavg()[0]:.2f}; photo: 800 x 600 JPEG, {len(body)} bytes"
    )
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as scratch:
        for layers in args.layers:
            archive = write_artifact(Path(scratch), layers)
            parts = in_process_parts(archive, body)
            print(
                f"\nResNet-{layers} 3x224x224, in process: decode+squash {parts['decode'] * 1e3:.1f} ms, "
                f"network {parts['forward1'] * 1e3:.1f} ms at batch 1, "
                f"{parts['forward16'] * 1e3:.1f} ms/image at batch 16"
            )
            for max_batch in (16, 1):
                server, url = start(archive, max_batch)
                try:
                    latencies = single(url, body, args.single)
                    rate, loaded = concurrent(url, body, args.clients, args.seconds)
                finally:
                    server.terminate()
                    server.wait()
                print(
                    f"  --max-batch {max_batch:2d}: single image p50 {percentile(latencies, 50) * 1e3:.1f} "
                    f"ms, p99 {percentile(latencies, 99) * 1e3:.1f} ms | {args.clients} clients: "
                    f"{rate:.1f} images/s, p50 {percentile(loaded, 50) * 1e3:.0f} ms, "
                    f"p99 {percentile(loaded, 99) * 1e3:.0f} ms ({len(loaded)} requests)"
                )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
