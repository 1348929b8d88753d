"""Load on the roost server: concurrent DescribeTrainingJob / ListTrainingJobs calls, with latencies.

    python bench/api_load.py [--calls 2000] [--threads 50] [--jobs 100]

Starts `roost server` on a free port with throwaway state, creates --jobs jobs (their data is one tiny file,
so each ends quickly, Failed or Completed, with a log stream), then times the calls.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

TRAIN = {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="roost-bench-"))
    (scratch / "data/bench/train").mkdir(parents=True)
    (scratch / "data/bench/train/x.rec").write_bytes(b"x")
    server = subprocess.Popen(
        [sys.executable, "-m", "roost", "server", "--port", "0", "--state-dir", str(scratch / "state"),
         "--data-root", str(scratch / "data")],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    url = re.search(r"listening on (\S+)", server.stderr.readline()).group(1)
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    client = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(max_pool_connections=args.threads),
    )
    try:
        for i in range(args.jobs):
            client.create_training_job(
                TrainingJobName=f"bench-{i}",
                RoleArn="arn:aws:iam::123456789012:role/bench",
                AlgorithmSpecification={"TrainingImage": "image-classification", "TrainingInputMode": "File"},
                ResourceConfig={"InstanceType": "ml.p2.xlarge", "InstanceCount": 1},
                InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": TRAIN}}],
                OutputDataConfig={"S3OutputPath": "s3://bench/"},
                HyperParameters={"num_classes": "2", "num_training_samples": "1", "epochs": "1"},
            )  # fmt: skip

        def call(i: int) -> float:
            start = time.perf_counter()
            if i % 2:
                client.describe_training_job(TrainingJobName=f"bench-{i % args.jobs}")
            else:
                client.list_training_jobs(MaxResults=100, SortBy="CreationTime", SortOrder="Descending")
            return time.perf_counter() - start

        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            latencies = sorted(pool.map(call, range(args.calls)))
        elapsed = time.perf_counter() - began
        p50, p99 = statistics.median(latencies) * 1000, latencies[int(0.99 * (len(latencies) - 1))] * 1000
        print(
            f"{args.calls} calls ({args.threads} threads, {args.jobs} jobs): "
            f"{args.calls / elapsed:.0f} calls/s, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
