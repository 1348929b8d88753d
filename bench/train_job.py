"""A whole training job, end to end, against the original recipe on MXNet 1.9.1 (not a test).

Runs ../shared/reference/mx_reference_train.py (MXNet's ImageRecordIter, Module and optimizer, SageMaker's
log lines) and `roost algorithm train` in alternation on the same RecordIO files with the same
hyperparameters, and reports seconds per epoch and images per second from each one's `Time cost` lines
(data loading, augmentation, forward, backward and update; validation excluded): the median over all
rounds, the first epoch of each run (start-up) left out; plus validation accuracy by epoch.

    python bench/train_job.py                      # birds8, ResNet-18 at 112 x 112, 4 epochs, 3 rounds
    python bench/train_job.py --epochs 6 --rounds 2 --hp num_layers=50
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROOST_SHARED", ROOT.parent / "shared"))
TIME = re.compile(r"Epoch\[(\d+)\] Time cost=([0-9.]+)")
ACCURACY = re.compile(r"Epoch\[(\d+)\] Validation-accuracy=([0-9.]+)")
DEFAULTS = {
    "num_layers": "18",
    "image_shape": "3,112,112",
    "resize": "128",
    "augmentation_type": "crop",
    "mini_batch_size": "24",
    "learning_rate": "0.1",
    "num_classes": "8",
    "num_training_samples": "360",
}


def mxnet_python() -> Path:
    configured = os.environ.get("ROOST_MXNET_PYTHON")
    if configured:
        return Path(configured)
    venv = Path(os.environ.get("ROOST_MXNET_VENV", "/tmp/roost-mxnet-venv"))
    subprocess.run(["bash", SHARED / "reference" / "mxnet-venv.sh", venv], check=True, capture_output=True)
    return venv / "bin" / "python"


def run_mxnet(train: Path, val: Path, hp: dict[str, str]) -> str:
    command = [
        mxnet_python(),
        SHARED / "reference" / "mx_reference_train.py",
        "--train",
        train,
        "--val",
        val,
        "--seed",
        "1",
        *[arg for key, value in hp.items() for arg in ("--hp", f"{key}={value}")],
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(os.cpu_count())}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def run_roost(train: Path, val: Path, hp: dict[str, str], seed: int = 0) -> str:
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as scratch:
        job = Path(scratch)
        (job / "input" / "config").mkdir(parents=True)
        (job / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hp))
        for channel, source in (("train", train), ("validation", val)):
            (job / "input" / "data" / channel).mkdir(parents=True)
            (job / "input" / "data" / channel / source.name).symlink_to(source)
        command = [sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir", str(job)]
        env = {**os.environ, "ROOST_SEED": str(seed)}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def epoch_times(log: str) -> list[float]:
    return [float(t) for _, t in TIME.findall(log)][1:]


def report(name: str, times: list[float], log: str, images: int) -> float:
    seconds = statistics.median(times)
    accuracy = " ".join(f"{float(a):.3f}" for _, a in ACCURACY.findall(log))
    print(
        f"{name:>12}: {seconds:6.2f} s/epoch (range {min(times):.2f}-{max(times):.2f})  "
        f"{images / seconds:6.1f} images/s  validation accuracy by epoch {accuracy}"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, default=SHARED / "data" / "birds8-im2rec" / "birds8_train.rec")
    parser.add_argument("--val", type=Path, default=SHARED / "data" / "birds8-im2rec" / "birds8_val.rec")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each engine, alternating")
    parser.add_argument(
        "--hp", action="append", default=[], metavar="KEY=VALUE", help="override a hyperparameter"
    )
    args = parser.parse_args()
    hp = {**DEFAULTS, "epochs": str(args.epochs), **dict(item.split("=", 1) for item in args.hp)}
    images = int(hp["num_training_samples"]) // int(hp["mini_batch_size"]) * int(hp["mini_batch_size"])
    print(f"{os.cpu_count()} cores; " + " ".join(f"{k}={v}" for k, v in hp.items()))
    times: dict[str, list[float]] = {"MXNet 1.9.1": [], "roost": []}
    logs: dict[str, str] = {}
    for _ in range(args.rounds):
        for name, run in (("MXNet 1.9.1", run_mxnet), ("roost", run_roost)):
            logs[name] = run(args.train, args.val, hp)
            times[name] += epoch_times(logs[name])
    mxnet, roost = (report(name, times[name], logs[name], images) for name in times)
    print(f"roost / MXNet, images per second: {mxnet / roost:.2f}")


if __name__ == "__main__":
    main()
