"""Helpers for the inference tests: tiny model artifacts, test images, a real `roost serve` process."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from roost.algorithm.hyperparameters import parse_hyperparameters
from roost.algorithm.model_artifact import ModelWriter
from roost.algorithm.network import ResNet, build_network, initialize

CLASS_NAMES = ["Purple Martin", "Northern Cardinal", "American Goldfinch", "Eastern Bluebird"]


@dataclass
class TinyModel:
    folder: Path
    archive: Path
    network: ResNet  # the weights of the latest checkpoint, as training holds them
    image_shape: tuple[int, int, int]


def _settle_batch_norms(model: ResNet, generator: torch.Generator) -> None:
    """Give every BN the statistics of a batch of photo-like inputs, so probabilities are not one-hot."""
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in batch_norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: one batch sets the statistics
    model.train()
    with torch.no_grad():
        model(torch.rand((16, *model.spec.image_shape), generator=generator) * 255)
    for bn in batch_norms:
        bn.momentum = 0.1
    model.eval()


def make_model(
    root: Path,
    num_layers: int = 20,
    image_shape: tuple[int, int, int] = (3, 28, 28),
    class_names: list[str] | None = CLASS_NAMES,
    epochs: int = 2,
) -> TinyModel:
    """An artifact with `epochs` checkpoints of different weights, as checkpoint_frequency=1 leaves it."""
    num_classes = 4
    model = build_network(num_layers, num_classes, image_shape)
    hp = parse_hyperparameters(
        {
            "num_classes": str(num_classes),
            "num_training_samples": "16",
            "num_layers": str(num_layers),
            "image_shape": ",".join(map(str, image_shape)),
            "mini_batch_size": "4",
            "epochs": str(epochs),
        }
    )
    folder = root / "model"
    writer = ModelWriter(folder, model, hp, class_names)
    for epoch in range(1, epochs + 1):
        generator = torch.Generator().manual_seed(epoch)
        initialize(model, generator)
        _settle_batch_norms(model, generator)
        writer.save(epoch, keep_earlier=True)
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)  # flat, as SageMaker tars /opt/ml/model
    return TinyModel(folder, archive, model, image_shape)


def encode(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A PNG of width x height black pixels: about 100 KB that would decode to 100 MB per channel."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def reference(network: ResNet, payload: bytes, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Probabilities computed apart from roost.inference: OpenCV decode (training's), bilinear squash,
    the network's own forward pass, softmax."""
    _, height, width = image_shape
    bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    rgb = cv2.resize(bgr[:, :, ::-1], (width, height), interpolation=cv2.INTER_LINEAR)
    batch = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))[None]).float()
    with torch.no_grad():
        return torch.softmax(network.eval()(batch), dim=1)[0].numpy()


@dataclass
class ServeProcess:
    process: subprocess.Popen
    url: str
    log: list[str]  # its stderr, read on a thread so that the pipe never fills up

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


def start_serve(*args: str, command: list[str] | None = None) -> ServeProcess:
    """`roost serve ARGS` (or `command`) with `--port 0` in its own process; returns once it listens."""
    command = command or [sys.executable, "-m", "roost", "serve", *args]
    process = subprocess.Popen([*command, "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log: list[str] = []
    for line in process.stderr:
        log.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            threading.Thread(target=log.extend, args=(process.stderr,), daemon=True).start()
            return ServeProcess(process, found.group(1), log)
    process.wait(timeout=30)
    raise AssertionError(f"roost serve did not start (exit {process.returncode}):\n{''.join(log)}")
