"""The training job end to end on tiny data: SageMaker's log lines, artifacts, resume, stop, failures."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_jobs import TINY, make_job

from roost.algorithm.entry import run
from roost.errors import UserError

LINE = re.compile(r"^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d (INFO|WARNING|ERROR) \d+[^\]]*\] (.*)$")


def train(root: Path, capsys) -> tuple[int, list[str]]:
    previous = signal.getsignal(signal.SIGTERM)
    try:
        code = run(root)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out = capsys.readouterr().out.splitlines()
    assert all(LINE.match(line) for line in out), [line for line in out if not LINE.match(line)][:3]
    return code, [LINE.match(line).group(2) for line in out]


def epoch_lines(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith(("Epoch[", "Storing", "Saved checkpoint"))]


def test_log_lines_follow_sagemakers_format_and_order(tmp_path, capsys):
    hp = dict(TINY, num_training_samples="168", epochs="1", top_k="2")
    root = make_job(tmp_path, hp, train=[i % 4 for i in range(170)], validation=[i % 4 for i in range(10)])
    code, messages = train(root, capsys)
    assert code == 0
    assert messages[:2][0].startswith("Reading default configuration from")
    assert (
        "---- Parameters ----" in messages
        and "checkpoint_frequency not set, will store the best model" in messages
    )
    lines = epoch_lines(messages)
    patterns = [
        r"Epoch\[0\] Batch \[20\]\tSpeed: \d+\.\d{3} samples/sec\taccuracy=\d\.\d{6}",
        r"Epoch\[0\] Train-accuracy=\d\.\d{6}",
        r"Epoch\[0\] Train-top_k_accuracy_2=\d\.\d{6}",
        r"Epoch\[0\] Time cost=\d+\.\d{3}",
        r"Epoch\[0\] Validation-accuracy=\d\.\d{6}",
        r"Storing the best model with validation accuracy: \d\.\d{6}",
        r'Saved checkpoint to ".*/model/image-classification-0001\.params"',
    ]
    assert len(lines) == len(patterns)
    for pattern, line in zip(patterns, lines, strict=False):
        assert re.fullmatch(pattern, line), (pattern, line)
    # 168 samples / batch 8 = 21 batches: every Train-accuracy is a multiple of 1/168.
    train_accuracy = float(lines[1].split("=")[1])
    assert abs(train_accuracy * 168 - round(train_accuracy * 168)) < 1e-3
    # Validation: every one of the 10 images once.
    assert float(lines[4].split("=")[1]) * 10 == pytest.approx(round(float(lines[4].split("=")[1]) * 10))


def test_artifacts_and_metrics(tiny_job, capsys):
    code, _ = train(tiny_job, capsys)
    assert code == 0
    model = tiny_job / "model"
    params = sorted(p.name for p in model.glob("*.params"))
    assert len(params) == 1 and re.fullmatch(r"image-classification-000[12]\.params", params[0])
    assert json.loads((model / "model-shapes.json").read_text()) == [
        {"name": "data", "shape": [8, 3, 28, 28]}
    ]
    assert json.loads((model / "class-names.json").read_text()) == ["class0", "class1", "class2", "class3"]
    symbol = json.loads((model / "image-classification-symbol.json").read_text())
    assert symbol["nodes"][-1]["name"] == "softmax"
    rows = [json.loads(line) for line in (model / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert set(rows[0]) >= {"train_accuracy", "validation_accuracy", "time_cost", "learning_rate"}


def test_checkpoint_frequency_keeps_every_period(tmp_path, capsys):
    hp = dict(TINY, epochs="4", checkpoint_frequency="2")
    root = make_job(tmp_path, hp, train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3])
    code, messages = train(root, capsys)
    assert code == 0
    assert sorted(p.name for p in (root / "model").glob("*.params")) == [
        "image-classification-0002.params",
        "image-classification-0004.params",
    ]
    assert not any(m.startswith("Storing the best model") for m in messages)


def test_a_seeded_cpu_run_repeats_exactly(tmp_path, capsys):
    results = []
    for name in ("a", "b"):
        root = make_job(
            tmp_path / name, dict(TINY), train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3]
        )
        assert train(root, capsys)[0] == 0
        metrics = [json.loads(line) for line in (root / "model/metrics.jsonl").read_text().splitlines()]
        params = {p.name: p.read_bytes() for p in (root / "model").glob("*.params")}
        results.append(([(m["train_accuracy"], m["validation_accuracy"]) for m in metrics], params))
    assert results[0] == results[1]


def test_resume_continues_where_a_run_ended(tmp_path, capsys):
    labels = [i % 4 for i in range(32)]
    whole = make_job(tmp_path / "whole", dict(TINY, epochs="3"), train=labels, validation=[0, 1, 2, 3])
    assert train(whole, capsys)[0] == 0
    part = make_job(tmp_path / "part", dict(TINY, epochs="2"), train=labels, validation=[0, 1, 2, 3])
    assert train(part, capsys)[0] == 0
    (part / "input/config/hyperparameters.json").write_text(json.dumps(dict(TINY, epochs="3")))
    code, messages = train(part, capsys)
    assert code == 0 and any(m.startswith("Resuming from the checkpoint of epoch 1") for m in messages)
    assert not any(m.startswith("Epoch[0]") for m in messages)
    assert (whole / "model/metrics.jsonl").read_text().count("\n") == 3
    strip = lambda root: [  # noqa: E731 - the time of each epoch differs
        {k: v for k, v in json.loads(line).items() if k != "time_cost"}
        for line in (root / "model/metrics.jsonl").read_text().splitlines()
    ]
    assert strip(part) == strip(whole)


def test_resume_refuses_other_hyperparameters(tiny_job, capsys):
    assert train(tiny_job, capsys)[0] == 0
    (tiny_job / "input/config/hyperparameters.json").write_text(json.dumps(dict(TINY, learning_rate="0.2")))
    assert train(tiny_job, capsys)[0] == 1
    assert "different hyperparameters" in (tiny_job / "output/failure").read_text()


@pytest.mark.parametrize(
    ("hyperparameters", "train_labels", "failure"),
    [
        (
            dict(TINY, mini_batch_size="64"),
            list(range(4)) * 8,
            "ClientError: The number of input images must be",
        ),
        (dict(TINY, augmentation_type="crop_color_transformation"), [0] * 32, "Customer Error: The value"),
        (dict(TINY, num_classes="3"), [0, 1, 2, 3] * 8, "outside 0 .. 2 (num_classes=3)"),
        (dict(TINY, mini_batch_siz="8"), [0] * 32, "Additional properties are not allowed ('mini_batch_siz'"),
    ],
)
def test_bad_input_fails_with_a_reason_and_no_model(tmp_path, capsys, hyperparameters, train_labels, failure):
    root = make_job(tmp_path, hyperparameters, train=train_labels, validation=[0, 1])
    code, messages = train(root, capsys)
    assert code == 1
    assert failure in (root / "output/failure").read_text()
    assert not any("Traceback" in m for m in messages)
    assert not list((root / "model").glob("*.params")) if (root / "model").exists() else True


def test_multi_label(tmp_path, capsys):
    import numpy as np

    hot = [np.array([i % 2, (i // 2) % 2, 1], np.float32) for i in range(32)]
    hp = dict(TINY, num_classes="3", multi_label="1", use_weighted_loss="1")
    root = make_job(tmp_path, hp, train=hot, validation=hot[:6])
    code, messages = train(root, capsys)
    assert code == 0
    accuracy = [float(m.split("=")[1]) for m in messages if "Validation-accuracy" in m]
    assert len(accuracy) == 2 and all(0 <= a <= 1 for a in accuracy)
    # element-wise accuracy over 6 images x 3 labels
    assert all(abs(a * 18 - round(a * 18)) < 1e-4 for a in accuracy)


def test_early_stopping_ends_the_job(tmp_path, capsys):
    hp = dict(
        TINY,
        epochs="20",
        learning_rate="0",
        early_stopping="True",
        early_stopping_min_epochs="2",
        early_stopping_patience="2",
    )
    root = make_job(tmp_path, hp, train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3])
    code, messages = train(root, capsys)
    assert code == 0
    assert any(m.startswith("Early stopping") for m in messages)
    assert sum(m.startswith("Epoch[") and "Validation-accuracy" in m for m in messages) == 3


def test_incremental_training_from_a_model_channel(tmp_path, capsys):
    import tarfile

    first = make_job(
        tmp_path / "first", dict(TINY, epochs="3"), train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3]
    )
    assert train(first, capsys)[0] == 0
    second = make_job(
        tmp_path / "second", dict(TINY, epochs="1"), train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3]
    )
    (second / "input/data/model").mkdir()
    with tarfile.open(second / "input/data/model/model.tar.gz", "w:gz") as archive:
        for path in (first / "model").iterdir():
            archive.add(path, arcname=path.name)
    code, messages = train(second, capsys)
    assert code == 0 and any(
        m.startswith("Incremental training: starting from image-classification-") for m in messages
    )

    (second / "input/config/hyperparameters.json").write_text(json.dumps(dict(TINY, num_classes="5")))
    code, _ = train(second, capsys)
    assert (
        code == 1
        and "needs the same num_layers, image_shape and num_classes"
        in (second / "output/failure").read_text()
    )


def test_pretrained_weights_from_a_local_file(tmp_path, capsys, monkeypatch):
    from roost.algorithm.mxnet_format import save_params
    from roost.algorithm.network import build_network

    monkeypatch.setenv("ROOST_PRETRAINED_DIR", str(tmp_path / "zoo"))
    (tmp_path / "zoo").mkdir()
    save_params(tmp_path / "zoo/resnet-18-0000.params", build_network(18, 1000, (3, 224, 224)))
    hp = dict(TINY, num_layers="18", image_shape="3,36,36", resize="40", epochs="1", use_pretrained_model="1")
    root = make_job(tmp_path / "job", hp, train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3])
    code, messages = train(root, capsys)
    assert code == 0 and any("Loaded pretrained weights from" in m for m in messages)

    monkeypatch.setenv("ROOST_PRETRAINED_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr("roost.algorithm.starting_weights.MODEL_ZOO", "http://127.0.0.1:9/{n}")
    (root / "checkpoints/training-state.pt").unlink()
    code, _ = train(root, capsys)
    assert (
        code == 1
        and "Put MXNet's model-zoo file resnet-18-0000.params in" in (root / "output/failure").read_text()
    )


def test_stop_request_ends_after_the_current_batch_and_keeps_the_best_model(tmp_path):
    hp = dict(TINY, epochs="200")
    root = make_job(tmp_path, hp, train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3])
    process = subprocess.Popen(
        [sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    for line in process.stdout:
        if "Saved checkpoint" in line:
            break
    os.killpg(process.pid, signal.SIGTERM)  # as the platform does: the whole group, loader workers too
    rest = process.stdout.read()
    assert process.wait(timeout=60) == 143
    assert "Stop requested" in rest and "Traceback" not in rest
    assert list((root / "model").glob("image-classification-*.params"))
    assert not (root / "output/failure").exists()


def test_two_hosts_train_as_one_job(tmp_path, capsys):
    hp = dict(TINY, num_training_samples="32", epochs="2")
    root = make_job(tmp_path, hp, train=[i % 4 for i in range(32)], validation=[i % 4 for i in range(10)])
    (root / "input/config/resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"], "network_interface_name": "lo"})
    )
    done = subprocess.run(
        [sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ROOST_SEED": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Starting 2 training processes (2 host(s)" in done.stdout
    # 32 samples, batch 8 per host, 2 hosts: 2 global batches of 16 per epoch.
    accuracy = [float(line.split("=")[1]) for line in done.stdout.splitlines() if "Train-accuracy" in line]
    assert len(accuracy) == 2 and all(abs(a * 32 - round(a * 32)) < 1e-4 for a in accuracy)
    assert done.stdout.count("Validation-accuracy") == 2


def test_the_artifact_tells_prediction_how_the_model_was_trained(tmp_path, capsys):
    import numpy as np

    from roost.algorithm.model_artifact import open_model

    hot = [np.array([i % 2, 1, 0], np.float32) for i in range(32)]
    root = make_job(
        tmp_path, dict(TINY, num_classes="3", multi_label="1", epochs="1"), train=hot, validation=hot[:4]
    )
    assert train(root, capsys)[0] == 0
    stored = open_model(root / "model", tmp_path)
    assert stored.multi_label and stored.resize == 32 and stored.num_layers == 20
    assert json.loads((root / "model/hyperparameters.json").read_text())["image_shape"] == "3,28,28"
    symbol = json.loads((root / "model/image-classification-symbol.json").read_text())
    assert symbol["nodes"][symbol["heads"][0][0]]["op"] == "LogisticRegressionOutput"
    (root / "model/hyperparameters.json").unlink()  # as in a model of SageMaker itself
    assert open_model(root / "model", tmp_path / "sagemaker").multi_label

    (root / "model/class-names.json").write_text("{not json")
    with pytest.raises(UserError, match=r"class-names\.json is not readable JSON"):
        open_model(root / "model", tmp_path)
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"\x1f\x8b" + bytes(50))
    with pytest.raises(UserError, match=r"not a readable model\.tar\.gz \([^\n]*\)$"):
        open_model(broken, tmp_path / "x")


def test_float16_on_a_cpu_trains_in_bfloat16_where_the_cpu_has_it(tmp_path, capsys):
    import torch

    root = make_job(
        tmp_path,
        dict(TINY, precision_dtype="float16"),
        train=[i % 4 for i in range(32)],
        validation=[0, 1, 2, 3],
    )
    code, messages = train(root, capsys)
    assert code == 0
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        assert (
            "precision_dtype=float16 on a CPU: mixed precision in bfloat16, the CPU's half type" in messages
        )
    else:
        assert any("training in float32" in m for m in messages)
    assert list((root / "model").glob("*.params"))


@pytest.mark.parametrize("speedup", [2.04, 1.05])
def test_float32_on_a_bfloat16_cpu_hints_at_the_measured_speedup(tmp_path, capsys, monkeypatch, speedup):
    import dataclasses

    from roost.algorithm import training

    real_choice = training.choose_precision
    monkeypatch.setattr(
        training, "choose_precision", lambda *a: dataclasses.replace(real_choice(*a), bfloat16_native=True)
    )
    monkeypatch.setattr(training, "bfloat16_speedup", lambda: speedup)
    root = make_job(tmp_path, TINY, train=[i % 4 for i in range(32)], validation=[0, 1, 2, 3])
    code, messages = train(root, capsys)
    assert code == 0
    hints = [m for m in messages if m.startswith("Hint:")]
    if speedup >= training.MIN_HINTED_SPEEDUP:
        assert hints == [
            "Hint: this CPU computes bfloat16 natively; its convolutions measured 2.0x faster in bfloat16 "
            "than in float32. precision_dtype=float16 trains in bfloat16 mixed precision with float32 weights"
        ]
    else:
        assert not hints, "no hint where bfloat16 would not clearly pay"


def test_the_bfloat16_probe_measures_without_touching_the_jobs_random_stream():
    import torch

    from roost.algorithm.precision import bfloat16_speedup, choose_precision

    assert choose_precision("float32", torch.device("cpu")).bfloat16_native == (
        torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    speedup = bfloat16_speedup(repeats=1)
    assert torch.equal(torch.rand(3), expected)
    assert 0 < speedup < 100
