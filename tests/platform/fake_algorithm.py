"""A stand-in for `roost algorithm train --ml-dir DIR`, for fast platform tests: SageMaker-format log lines,
a model directory, and the failure modes the platform must handle, chosen by the `_fake_mode`
hyperparameter (a job's own) or else FAKE_MODE in the server's environment (every job of a process)."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

ml = Path(sys.argv[-1])
hyperparameters = json.loads((ml / "input/config/hyperparameters.json").read_text())
mode = hyperparameters.get("_fake_mode", os.environ.get("FAKE_MODE", "ok"))
# Seconds between epochs, so that their metric points fall in different periods.
epoch_seconds = float(hyperparameters.get("_fake_epoch_seconds", "0"))
epochs = int(hyperparameters.get("epochs", "2"))
stopped = False


def on_term(signum, frame):
    global stopped
    stopped = True


signal.signal(signal.SIGTERM, on_term)


def validation_accuracy(epoch: int) -> float:
    """With a learning_rate, an accuracy that peaks at learning_rate 0.05 and mini_batch_size 16 (and grows
    by epoch), so a tuning job has something to find; without one, 0.40, 0.41, ... as before."""
    if "learning_rate" not in hyperparameters:
        return 0.4 + epoch / 100
    distance = abs(math.log10(float(hyperparameters["learning_rate"]) / 0.05))
    distance += abs(math.log2(int(hyperparameters.get("mini_batch_size", "16")) / 16)) / 4
    return max(0.05, 0.9 - 0.2 * distance - 0.02 * (epochs - 1 - epoch))


def log(message: str) -> None:
    print(f"[11/26/2026 07:40:00 INFO 140558353856320] {message}", flush=True)


log(f"job {os.environ['TRAINING_JOB_NAME']} channels {sorted(p.name for p in (ml / 'input/data').iterdir())}")
if mode == "fail":
    (ml / "output/failure").write_text(
        "ClientError: The number of input images must be bigger or equal to the mini_batch_size."
    )
    sys.exit(1)
if mode == "markup":  # what a job writes, for the console's escaping tests
    log("<script>document.title = 'pwned'</script><b>not bold</b>")
    (ml / "output/failure").write_text("ClientError: <img src=x onerror=\"document.title = 'pwned'\">")
    sys.exit(1)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode == "no-weights":  # the symbol only, then wait to be stopped
    (ml / "model" / "image-classification-symbol.json").write_text("{}")
    while not stopped:
        time.sleep(0.05)
    sys.exit(0)
for epoch in range(epochs):
    log(f"Epoch[{epoch}] Batch [20]\tSpeed: 191.406 samples/sec\taccuracy=0.976190")
    log(f"Epoch[{epoch}] Train-accuracy={0.5 + epoch / 100:.6f}")
    log(f"Epoch[{epoch}] Time cost=0.010")
    log(f"Epoch[{epoch}] Validation-accuracy={validation_accuracy(epoch):.6f}")
    (ml / "model" / f"image-classification-{epoch + 1:04d}.params").write_bytes(b"params")
    (ml / "model" / "image-classification-symbol.json").write_text("{}")
    if mode in ("slow", "ignore-term"):
        time.sleep(0.2)
    time.sleep(epoch_seconds)
    if stopped:
        log("stopping at the next batch")
        sys.exit(0)
if mode == "fail-late":  # a model was saved, then the algorithm failed
    (ml / "output/failure").write_text("AlgorithmError: No space left on device")
    sys.exit(1)
