"""Image operations whose arithmetic must match MXNet's: decoding and the shorter-side resize (OpenCV).

No image bigger than MAX_PIXELS is decoded or made: training, inspection and hosting refuse it, so one
crafted or mistaken file cannot take gigabytes (a 20000 x 20000 PNG decodes to 1.2 GB of pixels).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from roost.errors import UserError

# 64 megapixels (192 MB decoded) covers any camera photo that fits in a 6 MB request; it stays under
# Pillow's own warning threshold (89.5 MP), so Pillow only warns about images refused here anyway.
MAX_PIXELS = 64 << 20


class DecodeError(UserError):
    """The bytes of one image do not decode."""


def check_pixels(width: int, height: int, what: str = "the image") -> None:
    """DecodeError when a `width` x `height` image is over MAX_PIXELS."""
    if width * height > MAX_PIXELS:
        raise DecodeError(
            f"{what} is {width} x {height} pixels; at most {MAX_PIXELS / 1e6:.1f} megapixels are decoded "
            "(is it a decompression bomb?)"
        )


def _header_size(payload: bytes | memoryview) -> tuple[int, int] | None:
    """(width, height) from the image's header alone, when Pillow knows the format (it reads no pixels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(payload)) as opened:
                return opened.size
        except Image.DecompressionBombError:
            return MAX_PIXELS + 1, 1
        except Exception:  # Pillow cannot tell the size: OpenCV decodes it, and the size is checked after
            return None


def decode(payload: bytes | memoryview, channels: int | None) -> np.ndarray:
    """BGR (or gray) uint8 pixels; grayscale, CMYK and alpha sources are converted by OpenCV.

    `channels` None keeps what the file holds (gray, BGR or BGRA), for inspection.
    """
    if not len(payload):
        raise DecodeError("the image is empty (0 bytes)")
    size = _header_size(payload)
    if size is not None:
        check_pixels(*size)
    flag = {None: cv2.IMREAD_UNCHANGED, 1: cv2.IMREAD_GRAYSCALE}.get(channels, cv2.IMREAD_COLOR)
    try:
        image = cv2.imdecode(np.frombuffer(payload, dtype=np.uint8), flag)
    except cv2.error as error:
        raise DecodeError(f"the image bytes do not decode ({str(error).strip().splitlines()[-1]})") from None
    if image is None:
        raise DecodeError("the image bytes do not decode as JPEG, PNG or another format OpenCV reads")
    check_pixels(image.shape[1], image.shape[0])
    return image


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to `size`, longer side `long * size // short` (the arithmetic of im2rec and of
    ImageRecordIter's `resize`), bilinear. DecodeError when the result would be over MAX_PIXELS."""
    rows, cols = image.shape[:2]
    new = (size, rows * size // cols) if rows > cols else (cols * size // rows, size)
    check_pixels(*new, what=f"resized to a shorter side of {size}, the image")
    return image if new == (cols, rows) else cv2.resize(image, new)
