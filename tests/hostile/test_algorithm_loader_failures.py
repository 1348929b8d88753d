"""Issue 9 #2: a loader worker that fails ends the job within seconds, with the reason; sizes that cannot
fit are refused when the job is created."""

import cv2
import numpy as np
import pytest
from algorithm_jobs import run_job, small_job

from roost.algorithm.hyperparameters import HyperparameterError, parse_hyperparameters
from roost.formats.image import MAX_PIXELS, DecodeError, decode
from roost.formats.recordio import IRHeader, RecordWriter, pack, pack_img


def test_records_with_empty_images_fail_the_job_with_a_client_error(tmp_path):
    root = small_job(tmp_path)
    rec = root / "input/data/train/train.rec"
    with RecordWriter(rec, rec.with_suffix(".idx")) as writer:
        for i in range(32):
            writer.write_idx(i, pack(IRHeader(0, float(i % 4), i, 0), b""))
    ended = run_job(root)
    assert ended.code == 1
    assert ended.failure.startswith("ClientError: only 0 of the 24 training images read in epoch 0 decoded")
    assert "the image is empty" in ended.output


def test_an_unexpected_worker_error_ends_the_job_with_its_reason(tmp_path):
    fault = (
        "from roost.algorithm import loader",
        "loader.ImageSamples.__getitem__ = lambda self, key: 1 / 0",
    )
    ended = run_job(small_job(tmp_path), *fault)
    assert ended.code == 1
    assert ended.failure == "AlgorithmError: ZeroDivisionError: division by zero"


@pytest.mark.parametrize(("name", "value"), [("image_shape", "3,100000,100000"), ("resize", "100000000")])
def test_sizes_that_cannot_fit_are_refused_in_sagemakers_words(name, value):
    with pytest.raises(HyperparameterError) as error:
        parse_hyperparameters({"num_classes": "2", "num_training_samples": "10", name: value})
    assert str(error.value).startswith(
        f"Customer Error: The value '{value}' is not valid for the '{name}' hyperparameter which expects"
    )
    assert "8192" in str(error.value)


def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded():
    side = int(MAX_PIXELS**0.5) + 8
    png = cv2.imencode(".png", np.zeros((side, side), np.uint8))[1].tobytes()
    with pytest.raises(DecodeError, match="megapixels"):
        decode(png, 3)


def test_training_skips_an_image_over_the_pixel_limit_with_a_warning(tmp_path):
    side = int(MAX_PIXELS**0.5) + 8
    huge = np.zeros((side, side, 3), np.uint8)
    root = small_job(tmp_path)
    rec = root / "input/data/train/train.rec"
    small = np.full((36, 36, 3), 90, np.uint8)
    with RecordWriter(rec, rec.with_suffix(".idx")) as writer:
        for i in range(32):
            image = huge if i == 5 else small
            writer.write_idx(i, pack_img(IRHeader(0, float(i % 4), i, 0), image, img_fmt=".png"))
    ended = run_job(root)
    assert ended.code == 0, ended.output
    assert "skipped 1 training images that did not decode; the first: record id 5" in ended.output
    assert "megapixels" in ended.output
