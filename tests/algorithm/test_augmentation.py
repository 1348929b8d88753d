"""The per-image pipeline against MXNet 1.9.1's ImageRecordIter, and the augmentations' constants."""

import cv2
import numpy as np
import pytest

from roost.algorithm.augmentation import Augmentation, transform
from roost.formats.image import DecodeError, decode, resize_short_side
from roost.formats.recordio import IRHeader, RecordReader, RecordWriter, pack_img, unpack, unpack_img

SIZES = [(20, 30), (40, 50), (64, 48), (31, 33), (32, 32)]


@pytest.fixture
def smooth_rec(tmp_path):
    rng = np.random.default_rng(0)
    with RecordWriter(tmp_path / "a.rec", tmp_path / "a.idx") as writer:
        for i, (h, w) in enumerate(SIZES):
            image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 2)
            writer.write_idx(i, pack_img(IRHeader(0, float(i), i, 0), image, quality=3, img_fmt=".png"))
    return tmp_path / "a.rec"


@pytest.mark.parametrize("resize", [None, 36])
def test_centre_crop_pipeline_is_pixel_exact_with_image_record_iter(smooth_rec, run_mxnet, resize):
    # Includes images smaller than the crop: MXNet 1.9.1 upscales them, aspect kept, and so does roost.
    batch = run_mxnet(
        """
        import sys, json, mxnet as mx
        it = mx.io.ImageRecordIter(path_imgrec=sys.argv[1], data_shape=(3, 32, 32), batch_size=5,
                                   resize=int(sys.argv[2]))
        print(json.dumps(next(iter(it)).data[0].asnumpy().tolist()))
        """,
        smooth_rec,
        resize or -1,
    )
    with RecordReader(smooth_rec) as reader:
        for i, expected in enumerate(np.array(batch)):
            _, image = unpack_img(reader[i], 1)
            mine = transform(image, 32, 32, resize, Augmentation(), np.random.default_rng(0))
            assert np.array_equal(mine.transpose(2, 0, 1).astype(np.float32), expected), SIZES[i]


def test_grayscale_pipeline_matches_image_record_iter(smooth_rec, run_mxnet):
    batch = run_mxnet(
        """
        import sys, json, mxnet as mx
        it = mx.io.ImageRecordIter(path_imgrec=sys.argv[1], data_shape=(1, 24, 24), batch_size=5, resize=26)
        print(json.dumps(next(iter(it)).data[0].asnumpy().tolist()))
        """,
        smooth_rec,
    )
    with RecordReader(smooth_rec) as reader:
        for i, expected in enumerate(np.array(batch)):
            image = decode(unpack(reader[i])[1], 1)
            mine = transform(image, 24, 24, 26, Augmentation(), np.random.default_rng(0))
            assert mine.shape == (24, 24, 1)
            assert np.array_equal(mine.transpose(2, 0, 1).astype(np.float32), expected)


def test_augmentation_levels_use_mxnets_constants():
    assert Augmentation.for_training(None) == Augmentation()
    crop = Augmentation.for_training("crop")
    assert crop.rand_crop and crop.rand_mirror and not crop.color and not crop.affine
    color = Augmentation.for_training("crop_color")
    assert (color.random_h, color.random_s, color.random_l) == (36, 50, 50) and not color.affine
    full = Augmentation.for_training("crop_color_transform")
    assert (full.max_rotate_angle, full.max_shear_ratio, full.max_aspect_ratio) == (10, 0.1, 0.25)
    assert full.color and full.rand_crop


def test_random_crop_covers_every_offset_and_mirrors_half_the_time():
    image = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    rng = np.random.default_rng(1)
    offsets, mirrored = set(), 0
    for _ in range(400):
        out = transform(image, 8, 8, None, Augmentation(rand_crop=True, rand_mirror=True), rng)
        rgb = image[:, :, ::-1]
        for y in range(3):
            for x in range(5):
                if np.array_equal(out, rgb[y : y + 8, x : x + 8]):
                    offsets.add((y, x))
                elif np.array_equal(out, rgb[y : y + 8, x : x + 8][:, ::-1]):
                    offsets.add((y, x))
                    mirrored += 1
    assert offsets == {(y, x) for y in range(3) for x in range(5)}
    assert 140 < mirrored < 260


def test_hsl_jitter_stays_within_mxnets_ranges():
    rng = np.random.default_rng(2)
    grey = np.full((8, 8, 3), 128, np.uint8)
    aug = Augmentation(random_h=36, random_s=50, random_l=50)
    lightness = []
    for _ in range(200):
        out = transform(grey, 8, 8, None, aug, rng)
        hls = cv2.cvtColor(out[:, :, ::-1].copy(), cv2.COLOR_BGR2HLS).astype(int)
        lightness.append(hls[0, 0, 1] - 128)
        assert np.all(out == out[0, 0])  # one offset per image, not per pixel
    assert -51 <= min(lightness) < -20 and 20 < max(lightness) <= 51


def test_affine_keeps_the_canvas_and_fills_uncovered_pixels():
    image = np.full((40, 40, 3), 10, np.uint8)
    rng = np.random.default_rng(3)
    aug = Augmentation(max_rotate_angle=10, max_shear_ratio=0.1, max_aspect_ratio=0.25)
    filled = 0
    for _ in range(20):
        out = transform(image, 40, 40, None, aug, rng)
        assert out.shape == (40, 40, 3)
        filled += int((out == 127).all(axis=2).any())
    assert filled > 10


def test_seeded_draws_repeat():
    image = np.random.default_rng(4).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    aug = Augmentation.for_training("crop_color_transform")
    first = transform(image, 32, 32, 40, aug, np.random.default_rng((1, 2, 3)))
    again = transform(image, 32, 32, 40, aug, np.random.default_rng((1, 2, 3)))
    assert np.array_equal(first, again)


def test_resize_keeps_mxnets_integer_arithmetic():
    assert resize_short_side(np.zeros((300, 451, 3), np.uint8), 256).shape == (256, 384, 3)
    assert resize_short_side(np.zeros((451, 300, 3), np.uint8), 256).shape == (384, 256, 3)


def test_undecodable_bytes():
    with pytest.raises(DecodeError):
        decode(b"definitely not an image", 3)


def test_grayscale_cmyk_and_alpha_sources_decode_to_the_right_channels():
    import io

    from PIL import Image

    rgba = np.random.default_rng(5).integers(0, 256, (9, 7, 4), dtype=np.uint8)
    png = cv2.imencode(".png", rgba)[1].tobytes()
    assert decode(png, 3).shape == (9, 7, 3)
    assert decode(png, 1).shape == (9, 7)
    assert decode(cv2.imencode(".jpg", rgba[:, :, 0])[1].tobytes(), 3).shape == (9, 7, 3)
    cmyk = io.BytesIO()
    Image.new("CMYK", (7, 9), (0, 255, 255, 0)).save(cmyk, format="JPEG")  # pure red in CMYK
    red = decode(cmyk.getvalue(), 3)
    assert red.shape == (9, 7, 3) and red[0, 0, 2] > 200 and red[0, 0, 0] < 60
