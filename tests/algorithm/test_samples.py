"""Channels and the sample index: which files, which labels, and the ClientErrors for bad data."""

import json

import numpy as np
import pytest
from tiny_jobs import jpeg, make_job, manifest_stream, write_rec

from roost.algorithm.channel import ChannelKind, resolve_channel
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.samples import index_channel
from roost.errors import UserError


def channel_of(job_root, name="train"):
    job = JobDirectory(job_root)
    return resolve_channel(job, name, job.channels().get(name))


def test_recordio_channel_labels_ids_and_class_names(tmp_path):
    root = make_job(tmp_path, {}, train=[0, 1, 2, 3, 1], validation=[0])
    channel = channel_of(root)
    assert channel.kind == ChannelKind.RECORDS and [p.name for p in channel.files] == ["train.rec"]
    index = index_channel(channel, num_classes=4, multi_label=False)
    assert index.labels.tolist() == [0, 1, 2, 3, 1] and index.ids.tolist() == [0, 1, 2, 3, 4]
    assert index.class_names == ["class0", "class1", "class2", "class3"]


def test_several_rec_files_in_one_channel(tmp_path):
    root = make_job(tmp_path, {}, train=[0, 1], validation=[0])
    (root / "input/data/train/more").mkdir()
    write_rec(root / "input/data/train/more/part2.rec", [2, 3, 3])
    index = index_channel(channel_of(root), num_classes=4, multi_label=False)
    assert len(index) == 5 and sorted(index.labels.tolist()) == [0, 1, 2, 3, 3]
    assert index.class_names is None  # part2.rec has no .lst beside it


def test_label_outside_num_classes_names_the_record(tmp_path):
    root = make_job(tmp_path, {}, train=[0, 1, 7], validation=[0])
    with pytest.raises(UserError, match=r"record id 2 .*train\.rec has the label 7, outside 0 \.\. 3"):
        index_channel(channel_of(root), num_classes=4, multi_label=False)


def test_label_arrays_need_multi_label(tmp_path):
    hot = [np.array([1, 0, 1], np.float32), np.array([0, 1, 0], np.float32)]
    root = make_job(tmp_path, {}, train=hot, validation=[0])
    with pytest.raises(UserError, match="carries 3 labels, but multi_label is 0"):
        index_channel(channel_of(root), num_classes=3, multi_label=False)
    index = index_channel(channel_of(root), num_classes=3, multi_label=True)
    assert index.labels.tolist() == [[1, 0, 1], [0, 1, 0]]
    with pytest.raises(UserError, match="multi-hot vector of num_classes=4"):
        index_channel(channel_of(root), num_classes=4, multi_label=True)


def test_corrupt_record_mid_file_is_skipped_and_counted(tmp_path, caplog):
    root = make_job(tmp_path, {}, train=[0, 1, 2, 3], validation=[0])
    rec = root / "input/data/train/train.rec"
    offsets = [int(line.split("\t")[1]) for line in rec.with_suffix(".idx").read_text().splitlines()]
    data = bytearray(rec.read_bytes())
    data[offsets[1] : offsets[1] + 4] = b"JUNK"
    rec.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="roost.algorithm"):
        index = index_channel(channel_of(root), num_classes=4, multi_label=False)
    assert index.ids.tolist() == [0, 2, 3]
    assert len(index.skipped) == 1 and f"byte offset {offsets[1]}" in index.skipped[0]
    assert "Skipped 1 unreadable or corrupt samples in the 'train' channel" in caplog.text


def test_image_channel_with_lst(tmp_path, photo_tree):
    root = tmp_path / "job"
    (root / "input/data").mkdir(parents=True)
    (root / "input/data/train").symlink_to(photo_tree)
    (root / "input/data/train_lst").mkdir()
    (root / "input/data/train_lst/t.lst").write_text(
        "5\t0.000000\tBlue_Jay/000.jpg\n6\t1.000000\tCardinal/001.png\n7\t1.000000\tCardinal/missing.jpg\n"
    )
    (root / "input/config").mkdir(parents=True)
    (root / "input/config/inputdataconfig.json").write_text(
        json.dumps(
            {
                "train": {"ContentType": "application/x-image"},
                "train_lst": {"ContentType": "application/x-image"},
            }
        )
    )
    channel = channel_of(root)
    assert channel.kind == ChannelKind.IMAGES
    index = index_channel(channel, num_classes=2, multi_label=False)
    assert index.ids.tolist() == [5, 6] and index.labels.tolist() == [0, 1]
    assert index.class_names == ["Blue_Jay", "Cardinal"]
    assert "missing.jpg" in index.skipped[0]


def test_image_channel_needs_exactly_one_lst(tmp_path, photo_tree):
    root = tmp_path / "job"
    (root / "input/data").mkdir(parents=True)
    (root / "input/data/train").symlink_to(photo_tree)
    (root / "input/config").mkdir(parents=True)
    (root / "input/config/inputdataconfig.json").write_text(
        json.dumps({"train": {"ContentType": "image/jpeg"}})
    )
    with pytest.raises(UserError, match=r"'train_lst' channel must hold exactly one \.lst file"):
        channel_of(root)


def test_augmented_manifest_frames(tmp_path):
    root = tmp_path / "job"
    folder = root / "input/data/train"
    folder.mkdir(parents=True)
    image = np.zeros((30, 30, 3), np.uint8)
    manifest_stream(folder / "stream", [(jpeg(image), "0"), (jpeg(image), "[1, 2]"), (jpeg(image), "[0]")])
    (root / "input/config").mkdir(parents=True)
    config = {"ContentType": "application/x-recordio; label-format=class-id", "RecordWrapperType": "RecordIO"}
    (root / "input/config/inputdataconfig.json").write_text(json.dumps({"train": config}))
    channel = channel_of(root)
    assert channel.kind == ChannelKind.MANIFEST and channel.label_format == "class-id"
    index = index_channel(channel, num_classes=3, multi_label=True)
    assert index.labels.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]


def test_missing_and_empty_channels(tmp_path):
    root = make_job(tmp_path, {}, train=[0], validation=None)
    with pytest.raises(UserError, match="'validation' channel is missing"):
        channel_of(root, "validation")
    (root / "input/data/train/train.rec").unlink()
    with pytest.raises(UserError, match=r"no \.rec files found in the 'train' channel"):
        channel_of(root)


def test_unsupported_content_type(tmp_path):
    root = make_job(tmp_path, {}, train=[0], validation=[0], content_type="text/csv")
    with pytest.raises(UserError, match="content type 'text/csv' of the 'train' channel is not supported"):
        channel_of(root)
