"""`roost predict` as a user runs it, and `roost serve` refusing bad artifacts at start."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from endpoint_helpers import encode, reference, start_serve

from photos import photo
from roost.cli import main


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    (folder / "0772").mkdir()
    for i in range(5):
        (folder / "0772" / f"bird{i}.jpg").write_bytes(encode(photo(50 + 9 * i, 40, seed=i), ".jpg"))
    (folder / "b.png").write_bytes(encode(photo(33, 47, seed=9), ".png"))
    (folder / "notes.txt").write_text("not a photo, and not picked up")
    return folder


def test_one_photo_gives_a_table_of_top_classes(tiny_model, photos, capsys):
    assert main(["predict", str(tiny_model.archive), str(photos / "b.png"), "--top-k", "2"]) == 0
    out, err = capsys.readouterr()
    expected = reference(tiny_model.network, (photos / "b.png").read_bytes(), (3, 28, 28))
    names = ["Purple Martin", "Northern Cardinal", "American Goldfinch", "Eastern Bluebird"]
    best, second = np.argsort(-expected)[:2]
    assert names[best] in out and names[second] in out
    assert f"{expected[best]:.2%}" in out
    assert sum(name in out for name in names) == 2
    assert "image-classification-0002.params (epoch 2, the latest of 2 checkpoints)" in err


def test_json_lines_for_machines(tiny_model, photos, capsys):
    files = [photos / "b.png", photos / "0772" / "bird1.jpg"]
    assert main(["predict", str(tiny_model.archive), *map(str, files), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    for line, file in zip(lines, files, strict=True):
        np.testing.assert_allclose(
            line["prediction"], reference(tiny_model.network, file.read_bytes(), (3, 28, 28)), atol=1e-5
        )


def test_a_folder_is_written_as_batch_transform_lines(tiny_model, photos, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    assert main(["predict", str(tiny_model.folder), str(photos), "--output", str(output)]) == 0
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["file"] for line in lines] == sorted(
        str(p) for p in photos.rglob("*") if p.is_file() and p.suffix != ".txt"
    )
    assert all(len(line["prediction"]) == 4 for line in lines)
    err = capsys.readouterr().err
    assert "6 of 6 images predicted" in err
    assert "most probable class" in err


def test_crop_changes_the_input(tiny_model, photos, capsys):
    image = str(photos / "0772" / "bird4.jpg")
    main(["predict", str(tiny_model.archive), image, "--json"])
    squashed = json.loads(capsys.readouterr().out)["prediction"]
    main(["predict", str(tiny_model.archive), image, "--json", "--crop"])
    out, err = capsys.readouterr()
    assert json.loads(out)["prediction"] != squashed
    assert "shorter side to 32, centre 28 x 28 crop" in err


def test_bad_photos_are_skipped_with_a_warning(tiny_model, photos, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((photos / "0772" / "bird0.jpg").read_bytes()[:300])
    assert main(["predict", str(tiny_model.archive), str(broken), str(photos / "b.png"), "--json"]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(photos / "b.png")]
    assert "broken.jpg: skipped: the image data is damaged" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.jpg"], "no such image file or folder"),
        (["--top-k", "0", "PHOTO"], "--top-k must be at least 1"),
        (["--resize", "300", "PHOTO"], "goes with the validation-style crop"),
    ],
)
def test_usage_errors(tiny_model, photos, capsys, args, message):
    args = [str(photos / "b.png") if a == "PHOTO" else a for a in args]
    assert main(["predict", str(tiny_model.archive), *args]) == 2
    assert message in capsys.readouterr().err


def _run_roost(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def foreign_archive(tmp_path):
    (tmp_path / "model_algo-1").write_bytes(b"\x00some other algorithm's model")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "model_algo-1", arcname="model_algo-1")
    return archive


def test_serve_refuses_another_algorithms_artifact_without_a_traceback(foreign_archive):
    done = _run_roost("serve", str(foreign_archive), "--port", "0")
    assert done.returncode == 2
    assert "error:" in done.stderr and "image-classification" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_corrupted_archive_without_a_traceback(tiny_model, tmp_path):
    damaged = tmp_path / "model.tar.gz"
    damaged.write_bytes(tiny_model.archive.read_bytes()[:5000])
    done = _run_roost("serve", str(damaged), "--port", "0")
    assert done.returncode == 2
    assert "not a readable model.tar.gz" in done.stderr
    assert "Traceback" not in done.stderr


def test_algorithm_serve_serves_the_ml_dir_model(tiny_model, tmp_path):
    ml = tmp_path / "ml"
    (ml / "model").mkdir(parents=True)
    with tarfile.open(tiny_model.archive) as tar:
        tar.extractall(ml / "model", filter="data")  # what SageMaker does before `serve`
    command = [
        sys.executable,
        "-m",
        "roost",
        "algorithm",
        "serve",
        "--ml-dir",
        str(ml),
        "--host",
        "127.0.0.1",
    ]
    server = start_serve(command=command)
    try:
        import httpx

        response = httpx.post(
            f"{server.url}/invocations",
            content=encode(photo(30, 30, seed=1)),
            headers={"Content-Type": "image/png"},
        )
        assert response.status_code == 200 and len(response.json()) == 4
    finally:
        server.stop()
