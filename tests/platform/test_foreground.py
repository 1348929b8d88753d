import json
import tarfile
from pathlib import Path

import pytest

from roost.cli import main
from roost.platform.errors import InvalidRequest
from roost.platform.foreground import build_request, run_training_job


def test_run_training_job_writes_the_model_under_the_output_folder(tmp_path, data_root, fake_algorithm):
    lines = []
    request = build_request(
        channels={
            "train": str(data_root / "birds/train"),
            "validation": f"file://{data_root}/birds/validation",
        },
        output=str(tmp_path / "out"),
        hyperparameters={"num_classes": "2", "num_training_samples": "8", "epochs": "2"},
        job_name="local-birds",
    )
    assert request["InputDataConfig"][0]["ContentType"] == "application/x-recordio"
    result = run_training_job(
        request, state_dir=tmp_path / "state", on_line=lines.append, command=fake_algorithm
    )
    assert result.succeeded
    assert result.model_artifact == tmp_path / "out/local-birds/output/model.tar.gz"
    with tarfile.open(result.model_artifact) as archive:
        assert "image-classification-0002.params" in archive.getnames()
    assert result.final_metrics["validation:accuracy"] == pytest.approx(0.41)
    assert (result.job_dir / "input/config/hyperparameters.json").is_file()
    assert any("Epoch[1] Validation-accuracy=0.410000" in line for line in lines)


def test_channel_content_types_come_from_the_files_the_uri_names(tmp_path, data_root):
    (data_root / "photos" / "train").mkdir(parents=True)
    (data_root / "photos" / "train" / "a.jpg").write_bytes(b"jpeg")
    request = build_request(
        channels={
            "train": "s3://birds/train/",  # under the data root
            "validation": str(data_root / "birds" / "validation" / "birds_val"),  # a key prefix
            "train_lst": "s3://photos/train",
        },
        output=str(tmp_path / "out"),
        hyperparameters={},
        data_root=data_root,
    )
    types = {c["ChannelName"]: c["ContentType"] for c in request["InputDataConfig"]}
    assert types == {
        "train": "application/x-recordio",
        "validation": "application/x-recordio",
        "train_lst": "application/x-image",
    }


def test_a_bad_request_is_refused_before_anything_runs(tmp_path, data_root, fake_algorithm):
    request = build_request(
        channels={"train": str(data_root / "birds/train")},
        output=str(tmp_path / "out"),
        hyperparameters={"num_classes": "2"},
    )
    with pytest.raises(InvalidRequest, match="'num_training_samples' is a required property"):
        run_training_job(request, state_dir=tmp_path / "state", command=fake_algorithm)
    assert not (tmp_path / "out").exists()


def test_roost_train_reports_a_bad_channel_without_a_traceback(tmp_path, capsys):
    flags = [
        "--train",
        str(tmp_path / "missing"),
        "--output",
        str(tmp_path / "out"),
        "--state-dir",
        str(tmp_path),
    ]
    code = main(["train", *flags, "-H", "num_classes=2", "-H", "num_training_samples=8"])
    assert code == 2
    err = capsys.readouterr().err
    assert "No S3 objects found under S3 URL" in err
    assert "Traceback" not in err


def test_roost_train_takes_the_aws_cli_request_file(tmp_path, data_root, make_request, capsys):
    request = make_request("from-json")
    request["HyperParameters"]["optimizer"] = "adamw"
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request))
    code = main(
        [
            "train",
            "--cli-input-json",
            f"file://{path}",
            "--data-root",
            str(data_root),
            "--state-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "The value 'adamw' is not valid for the 'optimizer' hyperparameter" in capsys.readouterr().err
    assert not Path(tmp_path / "jobs" / "from-json").exists()
