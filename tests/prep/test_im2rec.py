"""`roost im2rec` against MXNet's own tools/im2rec.py: same lists, same records."""

import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from roost.cli import main
from roost.formats.recordio import RecordReader, unpack, unpack_img


def roost_im2rec(args: str, cwd: Path, monkeypatch) -> int:
    monkeypatch.chdir(cwd)
    return main(["im2rec", *shlex.split(args)])


def records(path: Path) -> list[tuple]:
    """(key, id, label, decoded shape) of every record, in file order."""
    with RecordReader(path) as reader:
        out = []
        for key, record in zip(reader.keys, reader, strict=True):
            header, payload = unpack(record)
            image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
            label = header.label.tolist() if header.flag else header.label
            out.append((key, header.id, header.flag, label, image.shape))
        return out


def side_by_side(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "mx").mkdir()
    (tmp_path / "ro").mkdir()
    return tmp_path / "mx", tmp_path / "ro"


@pytest.mark.parametrize(
    "options",
    [
        "--recursive --train-ratio 0.75",
        "--recursive --no-shuffle",
        "--recursive --chunks 2 --train-ratio 0.6 --test-ratio 0.2",
        "--recursive --train-ratio 0.5 --test-ratio 0.5",
        "--recursive --exts .png .jpeg .JPG",
    ],
)
def test_lists_are_identical_to_mxnet(photo_tree, tmp_path, mxnet_im2rec, monkeypatch, options):
    mx, ro = side_by_side(tmp_path)
    done = mxnet_im2rec(["set", str(photo_tree), "--list", *shlex.split(options)], cwd=mx)
    assert done.returncode == 0, done.stderr
    assert roost_im2rec(f"set {photo_tree} --list {options}", ro, monkeypatch) == 0
    mx_lists = sorted(p.name for p in mx.glob("*.lst"))
    assert mx_lists == sorted(p.name for p in ro.glob("*.lst")) and mx_lists
    for name in mx_lists:
        assert (ro / name).read_text() == (mx / name).read_text(), name


def test_flat_folder_list_is_identical(photo_tree, tmp_path, mxnet_im2rec, monkeypatch):
    mx, ro = side_by_side(tmp_path)
    assert mxnet_im2rec(["--list", "flat", str(photo_tree / "Goldfinch")], cwd=mx).returncode == 0
    assert roost_im2rec(f"--list flat {photo_tree / 'Goldfinch'}", ro, monkeypatch) == 0
    assert (ro / "flat.lst").read_text() == (mx / "flat.lst").read_text()


@pytest.mark.parametrize(
    "options",
    [
        "--resize 24",
        "--center-crop --resize 20",
        "--encoding .png --quality 3",
        "--color 0",
        "--pass-through",
    ],
)
def test_records_match_mxnet(photo_tree, tmp_path, mxnet_im2rec, monkeypatch, options):
    mx, ro = side_by_side(tmp_path)
    assert roost_im2rec(f"--list --recursive --train-ratio 0.7 set {photo_tree}", ro, monkeypatch) == 0
    for lst in ro.glob("*.lst"):
        (mx / lst.name).write_text(lst.read_text())
    done = mxnet_im2rec([*shlex.split(options), "set", str(photo_tree)], cwd=mx)
    assert done.returncode == 0, done.stderr
    assert roost_im2rec(f"{options} set {photo_tree}", ro, monkeypatch) == 0
    for name in ["set_train.rec", "set_val.rec"]:
        assert records(ro / name) == records(mx / name)
        assert (ro / name).with_suffix(".idx").read_text() == (mx / name).with_suffix(".idx").read_text()


def test_multi_label_lists_pack_labels_like_mxnet(photo_tree, tmp_path, mxnet_im2rec, monkeypatch):
    mx, ro = side_by_side(tmp_path)
    lines = [f"{i}\t{i % 2:f}\t1.000000\t{float(i):f}\tBlue_Jay/{i:03d}.jpg\n" for i in range(0, 7, 4)]
    for folder in (mx, ro):
        (folder / "multi.lst").write_text("".join(lines))
    for pack_label in ["", "--pack-label"]:
        assert mxnet_im2rec([*shlex.split(pack_label), "multi", str(photo_tree)], cwd=mx).returncode == 0
        assert roost_im2rec(f"{pack_label} multi {photo_tree}", ro, monkeypatch) == 0
        assert records(ro / "multi.rec") == records(mx / "multi.rec")
    assert records(ro / "multi.rec")[1][2:4] == (3, [0.0, 1.0, 4.0])


def test_unreadable_images_are_skipped_with_a_warning(
    photo_tree, tmp_path, mxnet_im2rec, monkeypatch, capsys
):
    (photo_tree / "Cardinal" / "000.jpg").write_bytes(b"this is not a JPEG")
    mx, ro = side_by_side(tmp_path)
    assert roost_im2rec(f"--list --recursive --no-shuffle set {photo_tree}", ro, monkeypatch) == 0
    (mx / "set.lst").write_text((ro / "set.lst").read_text())
    # MXNet skips unreadable images only on its multi-process path (its single-process path crashes).
    assert mxnet_im2rec(["--num-thread", "2", "set", str(photo_tree)], cwd=mx).returncode == 0
    for threads in [1, 2]:
        assert roost_im2rec(f"--num-thread {threads} set {photo_tree}", ro, monkeypatch) == 0
        err = capsys.readouterr().err
        assert "skipped" in err and "Cardinal/000.jpg" in err.replace("\n", "")
        assert records(ro / "set.rec") == records(mx / "set.rec")


def test_workshop_lab1_on_birds8_matches_mxnets_files(shared_data, tmp_path, monkeypatch):
    """The workshop's two commands give MXNet's lists, ids, labels and image sizes (../shared/data)."""
    birds, reference = shared_data / "birds8", shared_data / "birds8-im2rec"
    assert roost_im2rec(f"--list --recursive --train-ratio 0.75 birds8 {birds}", tmp_path, monkeypatch) == 0
    assert roost_im2rec(f"--resize 256 --num-thread 2 birds8 {birds}", tmp_path, monkeypatch) == 0
    for split in ["train", "val"]:
        name = f"birds8_{split}"
        assert (tmp_path / f"{name}.lst").read_text() == (reference / f"{name}.lst").read_text()
        assert (tmp_path / f"{name}.idx").read_text() == (reference / f"{name}.idx").read_text()
        mine, theirs = records(tmp_path / f"{name}.rec"), records(reference / f"{name}.rec")
        assert mine == theirs and len(mine) == {"train": 360, "val": 120}[split]


def test_images_and_labels_decode_like_the_source(photo_tree, tmp_path, monkeypatch):
    assert roost_im2rec(f"--list --recursive --no-shuffle s {photo_tree}", tmp_path, monkeypatch) == 0
    assert roost_im2rec(f"--encoding .png s {photo_tree}", tmp_path, monkeypatch) == 0
    lines = (tmp_path / "s.lst").read_text().splitlines()
    with RecordReader(tmp_path / "s.rec") as reader:
        for line, record in zip(lines, reader, strict=True):
            index, label, path = line.split("\t")
            header, image = unpack_img(record)
            assert (header.id, header.label) == (int(index), float(label))
            assert np.array_equal(image, cv2.imread(str(photo_tree / path), 1))
