"""`roost quickstart` (the README's main command) on a small sample, and `roost plot` from its outputs."""

import json
import tarfile

import pytest

from roost.cli import main


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart")
    assert main(["quickstart", "--dir", str(folder), "--per-class", "8", "--epochs", "2", "-q"]) == 0
    return folder


def test_quickstart_leaves_records_model_and_plot(quickstart):
    assert sorted(p.name for p in (quickstart / "data").iterdir()) == [
        "sample_train.idx",
        "sample_train.lst",
        "sample_train.rec",
        "sample_val.idx",
        "sample_val.lst",
        "sample_val.rec",
    ]
    (artifact,) = quickstart.glob("models/*/output/model.tar.gz")
    with tarfile.open(artifact) as archive:
        names = archive.getnames()
        assert json.load(archive.extractfile("class-names.json")) == [
            "American_Goldfinch",
            "Eastern_Bluebird",
            "Northern_Cardinal",
            "Purple_Martin",
        ]
    assert "image-classification-symbol.json" in names and "model-shapes.json" in names
    assert any(name.startswith("image-classification-0") and name.endswith(".params") for name in names)
    assert (quickstart / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_from_an_artifact_a_log_and_metrics(quickstart, tmp_path, capsys):
    (artifact,) = quickstart.glob("models/*/output/model.tar.gz")
    assert main(["plot", str(artifact), "-o", str(tmp_path / "a.png")]) == 0
    table = capsys.readouterr().out
    assert "validation accuracy" in table and table.count("\n") > 4
    log = tmp_path / "job.log"
    log.write_text(
        "[11/26/2026 07:40:00 INFO 1] Epoch[0] Batch [20]#011Speed: 1.0 samples/sec#011accuracy=0.9\n"
        "[11/26/2026 07:40:00 INFO 1] Epoch[0] Train-accuracy=0.250000\n"
        "[11/26/2026 07:40:01 INFO 1] Epoch[0] Validation-accuracy=0.300000\n"
        "[11/26/2026 07:40:02 INFO 1] Epoch[1] Train-accuracy=0.500000\n"
        "[11/26/2026 07:40:03 INFO 1] Epoch[1] Validation-accuracy=0.625000\n"
    )
    assert main(["plot", str(log), "-o", str(tmp_path / "b.png")]) == 0
    out = capsys.readouterr().out
    assert "0.625000" in out and "0.900000" not in out
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_plot_errors(tmp_path, capsys):
    empty = tmp_path / "empty.log"
    empty.write_text("nothing here\n")
    assert main(["plot", str(empty)]) == 2
    assert "no epochs with accuracy found" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing")]) == 2
