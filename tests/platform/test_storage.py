import os
from pathlib import Path

import pytest

from roost.platform.errors import InvalidRequest
from roost.platform.storage import Storage, join


def test_s3_uris_resolve_to_a_folder_per_bucket(data_root: Path):
    storage = Storage(data_root, confined=True)
    assert storage.resolve("s3://birds/train/") == data_root / "birds" / "train"
    files = storage.channel_files("s3://birds/train/")
    assert [f.relative for f in files] == ["birds_train.idx", "birds_train.rec"]


def test_a_prefix_without_slash_matches_like_s3(data_root: Path):
    storage = Storage(data_root, confined=True)
    files = storage.channel_files("s3://birds/train/birds_train.r")
    assert [f.relative for f in files] == ["birds_train.rec"]


@pytest.mark.parametrize(
    "uri",
    [
        "s3://birds/../etc/",
        "s3://birds/train/../../x",
        "s3://birds//etc/passwd",
        "s3://../etc",
        "/etc",
        "file:///etc/",
    ],
)
def test_paths_out_of_the_data_root_are_refused(data_root: Path, uri: str):
    with pytest.raises(InvalidRequest):
        Storage(data_root, confined=True).channel_files(uri)


def test_a_symlink_out_of_the_root_is_refused(data_root: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.rec").write_text("x")
    (data_root / "birds" / "leak").symlink_to(outside)
    (data_root / "birds" / "train" / "leak.rec").symlink_to(outside / "secret.rec")
    storage = Storage(data_root, confined=True)
    with pytest.raises(InvalidRequest, match="outside the data root"):
        storage.channel_files("s3://birds/leak/")
    with pytest.raises(InvalidRequest, match="outside the data root"):
        storage.channel_files("s3://birds/train/")


def test_an_empty_channel_gets_sagemakers_message(data_root: Path):
    (data_root / "birds" / "empty").mkdir()
    with pytest.raises(InvalidRequest) as caught:
        Storage(data_root, confined=True).channel_files("s3://birds/empty/")
    assert str(caught.value).startswith(
        'No S3 objects found under S3 URL "s3://birds/empty/" given in input data source.'
    )


def test_unconfined_storage_takes_local_paths_and_file_uris(data_root: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = Storage(data_root, confined=False)
    train = data_root / "birds" / "train"
    assert storage.resolve(f"file://{train}") == train
    assert storage.resolve("data/birds/train") == train
    assert len(storage.channel_files(str(train))) == 2


def test_put_is_atomic_and_join_adds_one_slash(data_root: Path, tmp_path: Path):
    storage = Storage(data_root, confined=True)
    source = tmp_path / "model.tar.gz"
    source.write_bytes(b"archive")
    uri = join("s3://birds/", "job", "output", "model.tar.gz")
    assert uri == "s3://birds/job/output/model.tar.gz"
    storage.put(source, uri)
    written = data_root / "birds" / "job" / "output" / "model.tar.gz"
    assert written.read_bytes() == b"archive"
    assert os.listdir(written.parent) == ["model.tar.gz"]
