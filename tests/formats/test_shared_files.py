"""The real RecordIO files in ../shared/data, made by MXNet itself, read exactly."""

import pytest

from roost.formats.image_list import read_list
from roost.formats.recordio import RecordReader, unpack, unpack_img


def test_birds8_im2rec_matches_its_lists(shared_data):
    folder = shared_data / "birds8-im2rec"
    for split, count in [("train", 360), ("val", 120)]:
        entries = list(read_list(folder / f"birds8_{split}.lst"))
        with RecordReader(folder / f"birds8_{split}.rec") as reader:
            assert len(reader) == len(entries) == count
            assert reader.keys == [e.index for e in entries]
            for position, entry in enumerate(entries):
                header, image = unpack_img(reader[position])
                assert header.flag == 0 and header.id2 == 0
                assert header.id == entry.index and header.label == entry.labels[0]
                assert min(image.shape[:2]) == 256 and image.shape[2] == 3
            key = entries[17].index
            assert unpack(reader.read_key(key))[0].id == key


def test_helmet_classification(shared_data):
    with RecordReader(shared_data / "mxnet-recordio/helmet_classification/train.rec") as reader:
        assert len(reader) == 16
        decoded = [unpack_img(record, 1) for record in reader]
    assert {h.label for h, _ in decoded} == {0.0, 1.0}
    assert {img.shape for _, img in decoded} == {(300, 300, 3)}


def test_logo_detection_label_arrays(shared_data):
    with RecordReader(shared_data / "mxnet-recordio/logo_detection/train.rec") as reader:
        headers = [unpack(record)[0] for record in reader]
    assert len(headers) == 12
    for header in headers:
        assert header.flag == 9 and header.label.shape == (9,)
        assert header.label[:2].tolist() == [4.0, 5.0]  # header width, label width
    assert max(h.label[-1] for h in headers) > 1.0  # the real-world oddity: boxes past the image


@pytest.mark.parametrize(("split", "count"), [("train", 1380), ("val", 392)])
def test_grayscale_without_index(shared_data, split, count):
    path = shared_data / f"mxnet-recordio/cgzzt_28x28_gray/{split}.rec"
    assert not path.with_suffix(".idx").exists()
    with RecordReader(path) as reader:
        assert reader.keys is None and len(reader) == count
        decoded = [unpack_img(record) for record in reader]
        assert unpack(reader[count - 1]) == unpack(list(reader)[-1])
    assert {img.shape for _, img in decoded} == {(28, 28)}
    labels = {h.label for h, _ in decoded}
    assert min(labels) >= 2 and max(labels) <= 34
