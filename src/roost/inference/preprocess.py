"""Request bytes → the network's input image, as the hosted algorithm prepares it (docs/algorithm.md §2.4,
§7).

Two geometries:
- squash (default, what SageMaker's endpoint does): the whole image resized to the model's H x W, aspect
  ratio not kept, nothing cut away;
- crop (what training's validation does, docs/algorithm.md §4.3): shorter side resized, then the centre H x W
  window.

Interpolation: OpenCV bilinear (`cv2.INTER_LINEAR`), the default of MXNet's `imresize` (interp=1) and of
`im2rec --resize`, so the pixels are scaled the way the training images were. The hosted container's own
choice is not public (docs/algorithm.md §7 [?]).

Decoding is Pillow's: it reads the header first (so the pixel count is refused before any memory is spent
on a decompression bomb) and it refuses truncated files, which some OpenCV versions decode silently with a
grey bottom. Its JPEG decoding gives the same pixels as OpenCV's (both libjpeg-turbo, same IDCT), and EXIF
orientation is applied as OpenCV's `imdecode` does for training.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from roost.algorithm.augmentation import Augmentation, transform
from roost.errors import UserError
from roost.formats.image import MAX_PIXELS

# Formats OpenCV (and so MXNet's image pipeline) decodes too (JPEG covers phones' multi-picture MPO
# files); others are refused (EPS, for one, would run Ghostscript).
FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP")
# The validation-style crop first scales the shorter side to 256/224 of the crop: the workshop's
# `im2rec --resize 256` for 224 x 224 models, and MXNet 1.3's validation iterator.
CROP_MARGIN = 256 / 224

# Pillow warns (once per image, in the server log) about images between its limit and twice that; they are
# refused below, before decoding, with a clearer message to the client.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(UserError):
    """The request's bytes are not an image this endpoint takes; the message says why."""


def default_resize(image_shape: tuple[int, int, int]) -> int:
    """Shorter side before the validation-style centre crop, when the user gives none."""
    return math.ceil(max(image_shape[1:]) * CROP_MARGIN)


def decode_image(payload: bytes, channels: int) -> np.ndarray:
    """HxWxC uint8 pixels, RGB (or gray for a 1-channel model), upright as EXIF orientation says."""
    if not payload:
        raise ImageError("the request body is empty; send the bytes of one JPEG or PNG image")
    try:
        with Image.open(io.BytesIO(payload), formats=FORMATS) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"the image is {width} x {height} pixels; at most {MAX_PIXELS / 1e6:.1f} megapixels are "
                    "decoded (is it a decompression bomb?)"
                )
            image = ImageOps.exif_transpose(opened).convert("L" if channels == 1 else "RGB")
    except Image.DecompressionBombError:
        raise ImageError(
            f"the image is over {MAX_PIXELS / 1e6:.1f} megapixels (a decompression bomb?)"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"the bytes are not an image in a format read here ({', '.join(FORMATS)})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        # Truncated or corrupt data: Pillow says which ("image file is truncated", "broken PNG file").
        raise ImageError(f"the image data is damaged: {error}") from None
    pixels = np.asarray(image)
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


@dataclass(frozen=True)
class Preprocessor:
    """Encoded image → HxWxC uint8 network input for a model of `image_shape` (C, H, W)."""

    image_shape: tuple[int, int, int]
    crop: bool = False
    resize: int | None = None  # shorter side before the crop; default_resize() when None

    def __post_init__(self) -> None:
        if self.resize is not None and not self.crop:
            raise UserError("a resize before cropping goes with the validation-style crop (--crop)")
        if self.resize is not None and self.resize < max(self.image_shape[1:]):
            raise UserError(
                f"the resize ({self.resize}) must be at least the model's image size "
                f"{self.image_shape[1]} x {self.image_shape[2]}, or the crop would cut from an upscaled image"
            )

    @property
    def description(self) -> str:
        _, height, width = self.image_shape
        if self.crop:
            return f"shorter side to {self.crop_resize}, centre {height} x {width} crop (as validation)"
        return f"whole image squashed to {height} x {width} (as SageMaker's endpoint)"

    @property
    def crop_resize(self) -> int:
        return self.resize if self.resize is not None else default_resize(self.image_shape)

    def __call__(self, payload: bytes) -> np.ndarray:
        channels, height, width = self.image_shape
        pixels = decode_image(payload, channels)
        if self.crop:
            # augmentation.transform takes OpenCV's BGR order and returns RGB.
            bgr = pixels[:, :, 0] if channels == 1 else np.ascontiguousarray(pixels[:, :, ::-1])
            unused_rng = np.random.default_rng(0)  # no random step runs with Augmentation()
            return transform(bgr, height, width, self.crop_resize, Augmentation(), unused_rng)
        squashed = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_LINEAR)
        return squashed[:, :, None] if squashed.ndim == 2 else squashed
