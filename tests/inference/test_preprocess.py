"""Request bytes → network input: squash and crop geometry, EXIF, and every kind of bad image."""

from __future__ import annotations

import io
import time

import cv2
import numpy as np
import pytest
from endpoint_helpers import bomb_png, encode
from PIL import Image

from photos import photo
from roost.algorithm.augmentation import Augmentation, transform
from roost.errors import UserError
from roost.formats.image import decode
from roost.inference.preprocess import MAX_PIXELS, ImageError, Preprocessor, decode_image, default_resize


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_decoding_gives_training_pixels(ext):
    image = photo(70, 45, seed=1)
    payload = encode(image, ext)
    expected = decode(payload, 3)[:, :, ::-1]  # training's OpenCV decode, in RGB
    assert np.array_equal(decode_image(payload, 3), expected)


def test_squash_keeps_the_whole_image_and_drops_the_aspect_ratio():
    image = photo(90, 30, seed=2)
    got = Preprocessor((3, 28, 28))(encode(image))
    expected = cv2.resize(image[:, :, ::-1], (28, 28), interpolation=cv2.INTER_LINEAR)
    assert got.shape == (28, 28, 3) and got.dtype == np.uint8
    assert np.array_equal(got, expected)


def test_squash_to_a_non_square_shape():
    got = Preprocessor((3, 20, 36))(encode(photo(50, 50, seed=3)))
    assert got.shape == (20, 36, 3)


def test_crop_is_the_validation_pipeline():
    image = photo(90, 60, seed=4)
    payload = encode(image)
    got = Preprocessor((3, 28, 28), crop=True)(payload)
    expected = transform(decode(payload, 3), 28, 28, 32, Augmentation(), np.random.default_rng(1))
    assert np.array_equal(got, expected)
    assert not np.array_equal(got, Preprocessor((3, 28, 28))(payload))


def test_crop_with_a_given_resize():
    payload = encode(photo(90, 60, seed=5))
    got = Preprocessor((3, 28, 28), crop=True, resize=60)(payload)
    expected = transform(decode(payload, 3), 28, 28, 60, Augmentation(), np.random.default_rng(1))
    assert np.array_equal(got, expected)


def test_default_resize_is_the_workshops_256_for_224():
    assert default_resize((3, 224, 224)) == 256
    assert default_resize((3, 28, 28)) == 32


def test_resize_needs_crop_and_must_cover_the_model_size():
    with pytest.raises(UserError, match="--crop"):
        Preprocessor((3, 28, 28), resize=40)
    with pytest.raises(UserError, match="at least"):
        Preprocessor((3, 28, 28), crop=True, resize=20)


@pytest.mark.parametrize("crop", [False, True])
def test_gray_models_get_one_channel(crop):
    got = Preprocessor((1, 28, 28), crop=crop)(encode(photo(40, 40, seed=6)))
    assert got.shape == (28, 28, 1)


def test_exif_orientation_is_applied_as_opencv_does():
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255
    exif = Image.Image().getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", exif=exif)
    payload = buffer.getvalue()
    assert decode_image(payload, 3).shape == decode(payload, 3).shape == (80, 40, 3)


def test_alpha_and_palette_images_decode_to_rgb():
    for mode in ("RGBA", "P", "LA"):
        buffer = io.BytesIO()
        Image.new(mode, (30, 20)).save(buffer, "PNG")
        assert decode_image(buffer.getvalue(), 3).shape == (20, 30, 3)


def test_empty_body():
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"", 3)


def test_text_is_not_an_image():
    with pytest.raises(ImageError, match="not an image"):
        decode_image(b"a bird, honestly\n" * 20, 3)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_truncated_images_are_refused(ext):
    payload = encode(photo(120, 90, seed=7), ext)
    with pytest.raises(ImageError, match="damaged"):
        decode_image(payload[: len(payload) * 2 // 3], 3)


# Pytest resets warning filters per test; the server keeps the module's filter (test_endpoint checks its log).
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_from_its_header():
    payload = bomb_png()
    assert len(payload) < 200_000
    start = time.perf_counter()
    with pytest.raises(ImageError, match="10000 x 10000 pixels"):
        decode_image(payload, 3)
    assert time.perf_counter() - start < 0.5  # 100 million pixels were never decoded


def test_pillows_own_bomb_error_is_reported_too():
    with pytest.raises(ImageError, match="megapixels"):
        decode_image(bomb_png(20_000, 10_000), 3)


def test_an_image_at_the_limit_decodes():
    side = int(MAX_PIXELS**0.5)
    assert decode_image(bomb_png(side, side), 1).shape == (side, side, 1)


def test_formats_outside_the_list_are_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    with pytest.raises(ImageError, match="not an image"):
        decode_image(buffer.getvalue(), 3)
