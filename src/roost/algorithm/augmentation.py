"""Per-image input pipeline of MXNet's ImageRecordIter, with OpenCV, as SageMaker configures it
(docs/algorithm.md §4).

Order: decode → resize (shorter side) → affine (rotate/shear/aspect) → crop to `image_shape` → HSL
jitter → mirror → RGB. Random draws come from a per-image generator, so a seeded run repeats exactly
whatever the number of loader processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from roost.formats.image import check_pixels, resize_short_side


@dataclass(frozen=True)
class Augmentation:
    """ImageRecordIter's augmentation arguments (MXNet example `set_data_aug_level`)."""

    rand_crop: bool = False
    rand_mirror: bool = False
    random_h: int = 0
    random_s: int = 0
    random_l: int = 0
    max_rotate_angle: int = 0
    max_shear_ratio: float = 0.0
    max_aspect_ratio: float = 0.0
    # The MXNet example's --fill-value for pixels that rotation and shear uncover.
    fill_value: int = 127

    @classmethod
    def for_training(cls, augmentation_type: str | None) -> Augmentation:
        if augmentation_type is None:
            return cls()
        crop = {"rand_crop": True, "rand_mirror": True}
        color = {"random_h": 36, "random_s": 50, "random_l": 50} if "color" in augmentation_type else {}
        transform = (
            {"max_rotate_angle": 10, "max_shear_ratio": 0.1, "max_aspect_ratio": 0.25}
            if augmentation_type == "crop_color_transform"
            else {}
        )
        return cls(**crop, **color, **transform)

    @property
    def affine(self) -> bool:
        return bool(self.max_rotate_angle or self.max_shear_ratio or self.max_aspect_ratio)

    @property
    def color(self) -> bool:
        return bool(self.random_h or self.random_s or self.random_l)


def _affine(image: np.ndarray, aug: Augmentation, rng: np.random.Generator) -> np.ndarray:
    shear = rng.random() * aug.max_shear_ratio * 2 - aug.max_shear_ratio
    angle = int(rng.integers(-aug.max_rotate_angle, aug.max_rotate_angle, endpoint=True))
    rng.random()  # MXNet draws a scale here; its range is [1, 1] at every augmentation level
    ratio = rng.random() * aug.max_aspect_ratio * 2 - aug.max_aspect_ratio + 1
    a, b = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    hs = 2.0 / (1.0 + ratio)
    ws = ratio * hs
    rows, cols = image.shape[:2]
    m = np.array(
        [[hs * a - shear * b * ws, hs * b + shear * a * ws, 0.0], [-b * ws, a * ws, 0.0]], np.float32
    )
    # Centre the transformed image on a canvas of the input's size.
    m[0, 2] = (cols - (m[0, 0] * cols + m[0, 1] * rows)) / 2
    m[1, 2] = (rows - (m[1, 0] * cols + m[1, 1] * rows)) / 2
    fill = (aug.fill_value,) * 3
    return cv2.warpAffine(image, m, (cols, rows), flags=cv2.INTER_LINEAR, borderValue=fill)


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Upscale, aspect kept, an image smaller than the crop (what MXNet 1.9.1's iterator does)."""
    rows, cols = image.shape[:2]
    if rows >= height and cols >= width:
        return image
    # Scale by the side that needs it more, in MXNet's integer arithmetic.
    size = (cols * height // rows, height) if height * cols >= width * rows else (width, rows * width // cols)
    check_pixels(*size, what=f"upscaled to fit {height} x {width}, the image")
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _hsl(image: np.ndarray, aug: Augmentation, rng: np.random.Generator) -> np.ndarray:
    # MXNet 1.3's "approximate Gaussian" draws; C++ int conversion truncates toward zero.
    draws = [(rng.random() + 4 * rng.random()) / 5 for _ in range(3)]
    h, s, lightness = (
        int(r * limit * 2 - limit)
        for r, limit in zip(draws, (aug.random_h, aug.random_s, aug.random_l), strict=True)
    )
    hls = cv2.cvtColor(image, cv2.COLOR_BGR2HLS).astype(np.int16)
    hls += np.array([h, lightness, s], dtype=np.int16)
    np.clip(hls, 0, np.array([180, 255, 255], dtype=np.int16), out=hls)
    return cv2.cvtColor(hls.astype(np.uint8), cv2.COLOR_HLS2BGR)


def transform(
    image: np.ndarray,
    height: int,
    width: int,
    resize: int | None,
    aug: Augmentation,
    rng: np.random.Generator,
) -> np.ndarray:
    """A decoded BGR/gray image → the network's HxWxC uint8 input, RGB for colour images."""
    if resize:
        image = resize_short_side(image, resize)
    if aug.affine:
        image = _affine(image, aug, rng)
    image = _fit(image, height, width)
    rows, cols = image.shape[:2]
    if aug.rand_crop:
        y = int(rng.integers(0, rows - height, endpoint=True))
        x = int(rng.integers(0, cols - width, endpoint=True))
    else:
        y, x = (rows - height) // 2, (cols - width) // 2
    image = image[y : y + height, x : x + width]
    if aug.color and image.ndim == 3:
        image = _hsl(image, aug, rng)
    if aug.rand_mirror and rng.random() < 0.5:
        image = image[:, ::-1]
    if image.ndim == 2:
        return image[:, :, None]
    return np.ascontiguousarray(image[:, :, ::-1])
