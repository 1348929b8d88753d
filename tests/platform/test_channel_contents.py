"""What a channel's URI holds, as the console's create form shows it before the job runs."""

from __future__ import annotations

import pytest

from algorithm.tiny_jobs import write_rec
from roost.platform.channel_contents import channel_contents
from roost.platform.errors import InvalidRequest
from roost.platform.storage import Storage


def test_records_and_labels_of_rec_files(tmp_path):
    folder = tmp_path / "birds" / "train"
    folder.mkdir(parents=True)
    write_rec(folder / "part-1.rec", [0, 1, 2], seed=1)
    write_rec(folder / "part-2.rec", [3, 3], seed=2)
    contents = channel_contents(Storage(tmp_path, confined=True), "s3://birds/train/")
    assert (contents.records, contents.labels, contents.files) == (5, {0.0, 1.0, 2.0, 3.0}, 4)
    assert contents.summary() == "2 .idx files, 2 .rec files, 5 records, labels 0-3"


def test_multi_label_records_images_and_a_broken_file(tmp_path):
    folder = tmp_path / "birds" / "mixed"
    folder.mkdir(parents=True)
    write_rec(folder / "multi.rec", [[1, 0, 1], [0, 1, 0]], seed=1)
    (folder / "broken.rec").write_bytes(b"not a recordio file at all")
    (folder / "photo.jpg").write_bytes(b"jpeg")
    contents = channel_contents(Storage(tmp_path, confined=True), "s3://birds/mixed/")
    assert contents.summary() == (
        "1 .idx file, 1 .jpg file, 2 .rec files, 2 records, multi-label (3 labels per record)"
    )
    assert len(contents.problems) == 1 and "broken.rec" in contents.problems[0]


def test_an_empty_or_escaping_uri_is_refused_in_createtrainingjobs_words(tmp_path):
    storage = Storage(tmp_path, confined=True)
    with pytest.raises(InvalidRequest, match='No S3 objects found under S3 URL "s3://birds/none/"'):
        channel_contents(storage, "s3://birds/none/")
    with pytest.raises(InvalidRequest, match="outside the data root"):
        channel_contents(storage, "/etc/")
