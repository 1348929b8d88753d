"""Loading artifacts (latest checkpoint, refusals) and the probabilities of a batch."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch
from endpoint_helpers import CLASS_NAMES, encode, make_model, reference

from photos import photo
from roost.errors import UserError
from roost.inference.predictor import Predictor, top_k
from roost.inference.preprocess import Preprocessor


def test_the_latest_checkpoint_is_loaded_and_named(tiny_model):
    predictor = Predictor.load(tiny_model.archive)
    assert (predictor.epoch, predictor.checkpoints) == (2, 2)
    assert predictor.checkpoint == "image-classification-0002.params"
    assert "image-classification-0002.params (epoch 2, the latest of 2 checkpoints)" in predictor.description
    assert (predictor.num_layers, predictor.num_classes, predictor.image_shape) == (20, 4, (3, 28, 28))
    assert predictor.class_names == CLASS_NAMES
    assert predictor.class_label(1) == "Northern Cardinal"


def test_archive_and_folder_give_the_same_model(tiny_model):
    images = np.stack([Preprocessor((3, 28, 28))(encode(photo(40, 30, seed=i))) for i in range(3)])
    from_archive = Predictor.load(tiny_model.archive).predict(images)
    from_folder = Predictor.load(tiny_model.folder).predict(images)
    assert np.array_equal(from_archive, from_folder)


def test_probabilities_are_the_networks_softmax(tiny_model):
    predictor = Predictor.load(tiny_model.archive)
    payloads = [encode(photo(30 + 7 * i, 50 - 3 * i, seed=10 + i)) for i in range(5)]
    got = predictor.predict(np.stack([Preprocessor((3, 28, 28))(p) for p in payloads]))
    expected = np.stack([reference(tiny_model.network, p, (3, 28, 28)) for p in payloads])
    assert got.shape == (5, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    assert got.max() < 0.999  # a meaningful check: the tiny model is not saturated
    assert len({int(i) for i in got.argmax(axis=1)}) > 1 or got.std(axis=0).max() > 1e-3


def test_multi_label_models_get_a_sigmoid_per_class(tiny_model):
    predictor = Predictor.load(tiny_model.archive, multi_label=True)
    image = Preprocessor((3, 28, 28))(encode(photo(40, 40, seed=3)))
    batch = torch.from_numpy(image.transpose(2, 0, 1)[None].copy()).float()
    with torch.no_grad():
        expected = torch.sigmoid(tiny_model.network(batch))[0].numpy()
    np.testing.assert_allclose(predictor.predict(image[None])[0], expected, atol=1e-5)
    assert "sigmoid" in predictor.description


def test_without_class_names_ids_are_shown(tmp_path):
    model = make_model(tmp_path, class_names=None, epochs=1)
    predictor = Predictor.load(model.archive)
    assert predictor.class_names is None and predictor.class_label(3) == "3"
    assert "latest of" not in predictor.description


def test_top_k_orders_by_probability():
    assert top_k(np.array([0.1, 0.5, 0.1, 0.3], np.float32), 3) == [
        (1, 0.5),
        (3, pytest.approx(0.3)),
        (0, pytest.approx(0.1)),
    ]


def test_an_artifact_of_another_algorithm_is_refused(tmp_path):
    (tmp_path / "xgboost-model").write_bytes(b"\x00binary booster")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model", arcname="xgboost-model")
    with pytest.raises(UserError, match="image-classification"):
        Predictor.load(archive)


def test_a_corrupted_archive_is_refused(tiny_model, tmp_path):
    damaged = tmp_path / "model.tar.gz"
    data = tiny_model.archive.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"model\.tar\.gz"):
        Predictor.load(damaged)
    damaged.write_bytes(b"this is not gzip at all")
    with pytest.raises(UserError, match=r"not a readable model\.tar\.gz"):
        Predictor.load(damaged)


def test_a_missing_model_is_refused(tmp_path):
    with pytest.raises(UserError, match="no such model"):
        Predictor.load(tmp_path / "nothing.tar.gz")
