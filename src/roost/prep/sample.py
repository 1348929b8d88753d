"""A built-in sample data set that roost draws itself: no downloads, no borrowed photos.

Four classes of small "photos", one folder each like the workshop's species folders: a disc, a
square, a triangle and a cross, in random colours, sizes, positions and rotations, on noisy
gradient backgrounds. Easy enough to learn in a couple of minutes on a laptop CPU, hard enough
that accuracy climbs over epochs rather than at once.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("disc", "square", "triangle", "cross")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    start = rng.uniform(40, 215, size=3)
    slope = rng.uniform(-1.5, 1.5, size=(2, 3))
    image = start + x[..., None] * slope[0] + y[..., None] * slope[1]
    image += rng.normal(0, 10, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _polygon(kind: str, centre: np.ndarray, radius: float, angle: float) -> np.ndarray:
    if kind == "square":
        corners = [angle + math.pi / 4 + k * math.pi / 2 for k in range(4)]
    else:  # triangle
        corners = [angle + k * 2 * math.pi / 3 for k in range(3)]
    points = [centre + radius * np.array([math.cos(a), math.sin(a)]) for a in corners]
    return np.round(np.array(points)).astype(np.int32)


def draw(kind: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """One BGR image of the shape `kind`."""
    image = _background(rng, size)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    radius = rng.uniform(0.22, 0.38) * size
    centre = rng.uniform(radius, size - radius, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    if kind == "disc":
        cv2.circle(image, tuple(np.round(centre).astype(int)), round(radius), colour, -1, cv2.LINE_AA)
    elif kind == "cross":
        thickness = max(2, round(radius / 3))
        for a in (angle, angle + math.pi / 2):
            offset = radius * np.array([math.cos(a), math.sin(a)])
            start, end = np.round(centre - offset).astype(int), np.round(centre + offset).astype(int)
            cv2.line(image, tuple(start), tuple(end), colour, thickness, cv2.LINE_AA)
    else:
        cv2.fillPoly(image, [_polygon(kind, centre, radius, angle)], colour, cv2.LINE_AA)
    return image


def write_sample(folder: Path, per_class: int = 100, size: int = 48, seed: int = 7) -> dict[str, int]:
    """Class folders of JPEG photos under `folder`; returns the count per class."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        target = folder / kind
        target.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(target / f"{i:04d}.jpg"), draw(kind, rng, size), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return dict.fromkeys(CLASSES, per_class)
