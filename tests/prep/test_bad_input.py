"""Bad input to `roost im2rec` and `roost inspect`: one clear message, nothing half-written."""

import json

import pytest

import roost.prep.pack as pack_module
from roost.cli import main


def im2rec(args: list[str], cwd, monkeypatch) -> int:
    monkeypatch.chdir(cwd)
    return main(["im2rec", *args])


def test_missing_image_folder(tmp_path, monkeypatch, capsys):
    assert im2rec(["--list", "x", str(tmp_path / "nowhere")], tmp_path, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "nowhere does not exist" in err and "Traceback" not in err


def test_empty_image_folder(photo_tree, tmp_path, monkeypatch, capsys):
    assert (
        im2rec(["--list", "--recursive", "x", str(photo_tree / "empty_species")], tmp_path, monkeypatch) == 2
    )
    assert "no images with extensions .jpeg .jpg .png under" in capsys.readouterr().err


def test_no_lists_for_prefix(photo_tree, tmp_path, monkeypatch, capsys):
    assert im2rec(["nolists", str(photo_tree)], tmp_path, monkeypatch) == 2
    assert "no .lst file starting with" in capsys.readouterr().err


def test_short_lst_lines_are_skipped_with_file_and_line(photo_tree, tmp_path, monkeypatch, capsys):
    (tmp_path / "s.lst").write_text("0\t0.000000\tBlue_Jay/000.jpg\n1\tBlue_Jay/001.png\nnot\ta\tnumber\n")
    assert im2rec(["s", str(photo_tree)], tmp_path, monkeypatch) == 0
    err = capsys.readouterr().err.replace("\n", "")
    assert "s.lst, line 2: skipped" in err and "at least 3" in err
    assert "s.lst, line 3: skipped" in err
    assert (tmp_path / "s.idx").read_text() == "0\t0\n"


def test_interrupted_packing_leaves_no_rec(photo_tree, tmp_path, monkeypatch):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    assert im2rec(["--list", "--recursive", "s", str(photo_tree)], tmp_path, monkeypatch) == 0
    real = pack_module.encode_entry
    calls = []

    def interrupt_on_fifth(entry, options):
        calls.append(entry)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(entry, options)

    monkeypatch.setattr(pack_module, "encode_entry", interrupt_on_fifth)
    assert im2rec(["s", str(photo_tree)], tmp_path, monkeypatch) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.lst"]


def test_inspect_reports_the_first_problem_with_its_offset(photo_tree, tmp_path, monkeypatch, capsys):
    assert im2rec(["--list", "--recursive", "--no-shuffle", "s", str(photo_tree)], tmp_path, monkeypatch) == 0
    assert im2rec(["s", str(photo_tree)], tmp_path, monkeypatch) == 0
    capsys.readouterr()
    assert main(["inspect", "--json", str(tmp_path / "s.rec")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 25 and summary["problem"] is None
    assert summary["labels"] == {"0": 7, "1": 8, "2": 1, "3": 9}  # Cardinal/nested is a class of its own
    assert summary["index_status"] == "consistent (25 entries)"
    assert summary["header_flags"] == {"0": 25}

    data = (tmp_path / "s.rec").read_bytes()
    (tmp_path / "s.rec").write_bytes(data[: len(data) // 2])
    assert main(["inspect", "--json", str(tmp_path / "s.rec")]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert "truncated record at byte offset" in summary["problem"]
    assert 0 < summary["records"] < 25
    assert summary["index_status"].startswith("inconsistent")


def test_inspect_a_file_that_is_not_recordio(tmp_path, capsys):
    (tmp_path / "photo.rec").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    assert main(["inspect", str(tmp_path / "photo.rec")]) == 1
    assert "no RecordIO magic at byte offset 0" in capsys.readouterr().out.replace("\n", "")


@pytest.mark.parametrize("args", [["--chunks", "0"], ["--train-ratio", "1.5"]])
def test_bad_list_options(photo_tree, tmp_path, monkeypatch, capsys, args):
    assert im2rec(["--list", "--recursive", *args, "s", str(photo_tree)], tmp_path, monkeypatch) == 2
    assert "error:" in capsys.readouterr().err
