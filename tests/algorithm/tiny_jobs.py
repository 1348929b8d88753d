"""Helpers for the algorithm's tests: tiny job directories of a few dozen small images."""

import json
from pathlib import Path

import cv2
import numpy as np

from roost.formats.recordio import IRHeader, RecordWriter, pack_img


def class_image(label: int, rng: np.random.Generator, size: int = 36) -> np.ndarray:
    """An image whose class is easy to learn: a bright square in a class-specific quadrant."""
    image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    half = size // 2
    y, x = divmod(label % 4, 2)
    image[y * half : (y + 1) * half, x * half : (x + 1) * half, label % 3] = 230
    return image


def write_rec(path: Path, labels: list, seed: int = 0, size: int = 36, lst: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    with RecordWriter(path, path.with_suffix(".idx")) as writer:
        for i, label in enumerate(labels):
            first = label if np.isscalar(label) else int(np.argmax(label))
            image = class_image(int(first), rng, size)
            writer.write_idx(i, pack_img(IRHeader(0, label, i, 0), image, quality=90))
            lines.append(f"{i}\t{float(first):f}\tclass{int(first)}/{i}.jpg\n")
    if lst:
        path.with_suffix(".lst").write_text("".join(lines))
    return path


def make_job(
    root: Path,
    hyperparameters: dict[str, str],
    train: list | None = None,
    validation: list | None = None,
    content_type: str = "application/x-recordio",
) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channels = {}
    for name, labels, seed in (("train", train, 1), ("validation", validation, 2)):
        if labels is None:
            continue
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        write_rec(folder / f"{name}.rec", labels, seed=seed, lst=True)
        channels[name] = {
            "ContentType": content_type,
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    return root


TINY = {
    "num_classes": "4",
    "num_training_samples": "32",
    "mini_batch_size": "8",
    "epochs": "2",
    "num_layers": "20",
    "image_shape": "3,28,28",
    "resize": "32",
    "learning_rate": "0.05",
}


def manifest_stream(path: Path, items: list[tuple[bytes, str]]) -> Path:
    """An augmented-manifest channel file: alternating image and label frames (RecordWrapperType RecordIO)."""
    with RecordWriter(path) as writer:
        for image, label in items:
            writer.write(image)
            writer.write(label.encode())
    return path


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()
