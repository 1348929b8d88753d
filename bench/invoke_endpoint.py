"""What `roost server` adds to a prediction: InvokeEndpoint through the platform against `roost serve`.

    python bench/invoke_endpoint.py [--layers 18] [--single 60] [--clients 16] [--seconds 15] [--rounds 2]

Writes an untrained ResNet artifact (3x224x224; weights do not change the cost) into a scratch data root,
starts `roost serve` on it directly, and `roost server` with an endpoint of the same artifact (CreateModel,
CreateEndpointConfig, CreateEndpoint through boto3, then the endpoint_in_service waiter). Then, in
alternating rounds, the same 800 x 600 JPEG over HTTP with httpx to both: `POST /invocations` on
`roost serve`, `POST /endpoints/bench/invocations` on the server (InvokeEndpoint's path, proxied to the
endpoint's own `roost serve` process):
  - single-image latency: one client per door, one request after another, alternating between the two
    doors (p50, p99);
  - 16 clients in a loop for --seconds (images/s, latency p50/p99).
The clients run on the same cores as the servers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

from inference_latency import concurrent, invoke, percentile, photo_jpeg, start, write_artifact


def start_platform(state: Path, data_root: Path) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "roost", "server", "--port", "0", "--state-dir", str(state)]
    server = subprocess.Popen([*command, "--data-root", str(data_root)], stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    for line in server.stderr:
        found = re.search(r"listening on (\S+)", line)
        if found:
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1)
    raise SystemExit("roost server did not start")


def deploy(url: str) -> None:
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )
    sagemaker.create_model(
        ModelName="bench",
        PrimaryContainer={"Image": "image-classification", "ModelDataUrl": "s3://bench/model.tar.gz"},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "bench", "InstanceType": "ml.m5.xlarge"}
    sagemaker.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="bench", WaiterConfig={"Delay": 1})


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=18)
    parser.add_argument("--single", type=int, default=60, help="sequential requests per round")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15, help="length of each 16-client run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    body = photo_jpeg()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    results: dict[str, dict[str, list[float]]] = {
        door: {"single": [], "loaded": [], "rate": []} for door in ("roost serve", "roost server")
    }
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as scratch:
        root = Path(scratch)
        (root / "data" / "bench").mkdir(parents=True)
        archive = write_artifact(root, args.layers)
        archive.rename(root / "data" / "bench" / "model.tar.gz")
        archive = root / "data" / "bench" / "model.tar.gz"
        direct, direct_url = start(archive, 16)
        server, server_url = start_platform(root / "state", root / "data")
        try:
            deploy(server_url)
            urls = {"roost serve": direct_url, "roost server": f"{server_url}/endpoints/bench"}
            with httpx.Client(timeout=120) as first, httpx.Client(timeout=120) as second:
                clients = dict(zip(urls, (first, second), strict=True))
                for _ in range(3):  # warm: connections open, kernels chosen
                    for door, url in urls.items():
                        invoke(clients[door], url, body)
                # Requests alternate between the two, so that both see the same load from other work.
                for _ in range(args.single * args.rounds):
                    for door, url in urls.items():
                        results[door]["single"].append(invoke(clients[door], url, body))
            for _ in range(args.rounds):
                for door, url in urls.items():
                    rate, loaded = concurrent(url, body, args.clients, args.seconds)
                    results[door]["rate"].append(rate)
                    results[door]["loaded"] += loaded
        finally:
            for process in (direct, server):
                process.terminate()
                process.wait()
    print(f"ResNet-{args.layers} 3x224x224, 800 x 600 JPEG ({len(body)} bytes), {args.rounds} rounds")
    for door, found in results.items():
        single_ms, loaded_ms = found["single"], found["loaded"]
        print(
            f"  {door:12s}: single image p50 {percentile(single_ms, 50) * 1e3:.1f} ms, p99 "
            f"{percentile(single_ms, 99) * 1e3:.1f} ms | {args.clients} clients: "
            f"{sum(found['rate']) / len(found['rate']):.1f} images/s, "
            f"p50 {percentile(loaded_ms, 50) * 1e3:.0f} ms, p99 {percentile(loaded_ms, 99) * 1e3:.0f} ms"
        )
    added = percentile(results["roost server"]["single"], 50) - percentile(
        results["roost serve"]["single"], 50
    )
    print(f"  the platform adds {added * 1e3:.1f} ms at p50 (single image)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
