"""Synthetic photos for tests: smooth colour gradients plus noise, so JPEG has something to encode."""

from __future__ import annotations

import numpy as np


def photo(width: int, height: int, seed: int, channels: int = 3) -> np.ndarray:
    """A `height` x `width` BGR (or gray) uint8 image, the same for the same seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = rng.uniform(0, 255, size=(1, 1, channels))
    slope = rng.uniform(-3, 3, size=(2, channels))
    noise = rng.normal(0, 16, (height, width, channels))
    image = base + x[..., None] * slope[0] + y[..., None] * slope[1] + noise
    return np.clip(image, 0, 255).astype(np.uint8)
