"""Image operations whose arithmetic must match MXNet's: decoding and the shorter-side resize (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from roost.errors import UserError


class DecodeError(UserError):
    """The bytes of one image do not decode."""


def decode(payload: bytes | memoryview, channels: int) -> np.ndarray:
    """BGR (or gray) uint8 pixels; grayscale, CMYK and alpha sources are converted by OpenCV."""
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(payload, dtype=np.uint8), flag)
    if image is None:
        raise DecodeError("the image bytes do not decode as JPEG, PNG or another format OpenCV reads")
    return image


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to `size`, longer side `long * size // short` (the arithmetic of im2rec and of
    ImageRecordIter's `resize`), bilinear."""
    rows, cols = image.shape[:2]
    new = (size, rows * size // cols) if rows > cols else (cols * size // rows, size)
    return image if new == (cols, rows) else cv2.resize(image, new)
