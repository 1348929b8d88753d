"""Issue 9 #3 and #6: damaged .rec files train on what is left, with a warning naming the file and the byte
offset; data that is mostly damaged fails the job; `.lst` paths cannot leave the channel."""

import re
from pathlib import Path

import numpy as np
import pytest
from algorithm_jobs import run_job, small_job

from algorithm.tiny_jobs import jpeg
from roost.algorithm.channel import Channel, ChannelKind
from roost.algorithm.samples import index_channel
from roost.errors import UserError
from roost.formats.recordio import IRHeader, RecordWriter, pack, scan_offsets


def _truncate_tail(rec: Path) -> None:
    data = rec.read_bytes()
    rec.write_bytes(data[: len(data) * 7 // 8])  # an interrupted copy
    rec.with_suffix(".idx").unlink()


def _bad_magic_in_the_middle(rec: Path) -> None:
    data = bytearray(rec.read_bytes())
    middle = scan_offsets(rec)[16]
    data[middle : middle + 4] = b"\0\0\0\0"
    rec.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate_tail, _bad_magic_in_the_middle])
def test_a_damaged_rec_trains_on_the_rest_with_a_warning(tmp_path, damage):
    root = small_job(tmp_path)
    rec = root / "input/data/train/train.rec"
    damage(rec)
    ended = run_job(root)
    assert ended.code == 0, ended.output
    assert f"in the 'train' channel; the first: {rec}: " in ended.output
    assert "byte offset" in ended.output
    assert "did not decode" not in ended.output  # what used to happen to every image


def test_a_rec_damaged_beyond_half_fails_the_job(tmp_path):
    root = small_job(tmp_path)
    rec = root / "input/data/train/train.rec"
    rec.write_bytes(rec.read_bytes()[: rec.stat().st_size // 4])
    ended = run_job(root)
    assert ended.code == 1
    assert re.match(r"ClientError: only \d images of the 'train' channel are readable", ended.failure)
    assert "byte offset" in ended.failure


def test_a_job_whose_images_mostly_do_not_decode_fails(tmp_path):
    root = small_job(tmp_path)
    rec = root / "input/data/train/train.rec"
    with RecordWriter(rec, rec.with_suffix(".idx")) as writer:
        for i in range(32):
            payload = jpeg(np.full((36, 36, 3), 80, np.uint8)) if i % 4 == 0 else b"not an image"
            writer.write_idx(i, pack(IRHeader(0, float(i % 4), i, 0), payload))
    ended = run_job(root)
    assert ended.code == 1
    assert ended.failure.startswith("ClientError: only ")
    assert "training images read in epoch 0 decoded (at least 50% must)" in ended.failure
    assert not list((root / "model").glob("*.params"))


def test_lst_paths_outside_the_channel_are_skipped(tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg(np.zeros((36, 36, 3), np.uint8)))
    channel = tmp_path / "channel"
    (channel / "a").mkdir(parents=True)
    (channel / "a" / "inside.jpg").write_bytes(jpeg(np.zeros((36, 36, 3), np.uint8)))
    lst = tmp_path / "train.lst"
    lst.write_text(f"0\t0.000000\ta/inside.jpg\n1\t1.000000\t{outside}\n2\t1.000000\t../secret.jpg\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(channel)
        index = index_channel(Channel("train", ChannelKind.IMAGES, channel, [lst]), 2, False)
    assert index.files == [str(channel / "a" / "inside.jpg")]
    assert len(index.skipped) == 2 and all("outside the 'train' channel" in s for s in index.skipped)


def test_a_nan_label_is_a_client_error(tmp_path):
    rec = tmp_path / "train.rec"
    with RecordWriter(rec, rec.with_suffix(".idx")) as writer:
        for i, label in enumerate([0.0, 1.0, float("nan"), 3.0]):
            writer.write_idx(i, pack(IRHeader(0, label, i, 0), jpeg(np.zeros((36, 36, 3), np.uint8))))
    with pytest.raises(UserError, match=r"^ClientError: record id 2 .* has the label nan"):
        index_channel(Channel("train", ChannelKind.RECORDS, tmp_path, [rec]), 4, False)
