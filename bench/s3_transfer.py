"""S3 on the data root: how fast boto3's upload_file / download_file (what `aws s3 cp` does) move a file.

    python bench/s3_transfer.py [--mib 200] [--rounds 2]

Starts `roost server` on a free port with throwaway state and data root, then times each round's upload
(multipart, 8 MiB parts, 10 at once: s3transfer's defaults, as the CLI's) and download of a random file.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="roost-bench-"))
    (scratch / "data/bench").mkdir(parents=True)
    source = scratch / "source.bin"
    source.write_bytes(os.urandom(args.mib * 1024 * 1024))
    server = subprocess.Popen(
        [sys.executable, "-m", "roost", "server", "--port", "0", "--state-dir", str(scratch / "state"),
         "--data-root", str(scratch / "data")],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    url = re.search(r"listening on (\S+)", server.stderr.readline()).group(1)
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    try:
        for round_ in range(args.rounds):
            began = time.perf_counter()
            s3.upload_file(str(source), "bench", "source.bin")
            uploaded = time.perf_counter() - began
            began = time.perf_counter()
            s3.download_file("bench", "source.bin", str(scratch / "copy.bin"))
            downloaded = time.perf_counter() - began
            assert filecmp.cmp(source, scratch / "copy.bin", shallow=False)
            up, down = args.mib / uploaded, args.mib / downloaded
            print(
                f"round {round_ + 1}, {args.mib} MiB: upload {uploaded:.1f} s ({up:.0f} MiB/s), "
                f"download {downloaded:.1f} s ({down:.0f} MiB/s)"
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
