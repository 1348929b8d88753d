"""Accuracy by epoch, as the workshop asks for: read from a job's metrics or from its log, drawn to PNG.

Sources, in the order they are tried: a `metrics.jsonl` file; a folder holding one (a model folder, a
job directory, an output folder with `model.tar.gz`); a `model.tar.gz`; any text file holding the
algorithm's log lines (`Epoch[3] Validation-accuracy=0.8125`), CloudWatch exports included.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from roost.atomic_file import write_atomically
from roost.errors import UserError
from roost.platform.training_metrics import accuracy_by_epoch

METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class Curve:
    epochs: list[int]
    train: list[float | None]
    validation: list[float | None]
    source: str


def _from_metrics(lines: list[str], source: str) -> Curve:
    rows = [json.loads(line) for line in lines if line.strip()]
    return Curve(
        [int(r["epoch"]) for r in rows],
        [r.get("train_accuracy") for r in rows],
        [r.get("validation_accuracy") for r in rows],
        source,
    )


def _from_log(text: str, source: str) -> Curve:
    # CloudWatch renders tabs as #011; the accuracy lines need none, so the text is used as is.
    rows = accuracy_by_epoch(text.splitlines())
    return Curve([r.epoch for r in rows], [r.train for r in rows], [r.validation for r in rows], source)


def read_curve(path: Path) -> Curve:
    if path.is_dir():
        for candidate in (
            path / METRICS_FILE,
            path / "model" / METRICS_FILE,
            path / "model.tar.gz",
            path / "output" / "model.tar.gz",
        ):
            if candidate.is_file():
                return read_curve(candidate)
        raise UserError(f"{path} holds no {METRICS_FILE} or model.tar.gz to plot")
    if not path.is_file():
        raise UserError(f"{path}: no such file or folder")
    if path.name.endswith(".tar.gz"):
        try:
            with tarfile.open(path) as archive:
                member = archive.extractfile(METRICS_FILE) if METRICS_FILE in archive.getnames() else None
                if member is None:
                    raise UserError(f"{path} holds no {METRICS_FILE}: plot the job's log instead")
                return _from_metrics(member.read().decode().splitlines(), str(path))
        except tarfile.TarError as error:
            raise UserError(f"{path} is not a readable model.tar.gz: {error}") from None
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name.endswith(".jsonl"):
        return _from_metrics(text.splitlines(), str(path))
    return _from_log(text, str(path))


def plot(curve: Curve, out: Path, title: str | None = None) -> Path:
    """Draw train and validation accuracy by epoch to a PNG file at `out`."""
    if not curve.epochs:
        raise UserError(f"{curve.source}: no epochs with accuracy found to plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=120)
    for values, label, style in ((curve.train, "train", "o-"), (curve.validation, "validation", "s-")):
        points = [(e, v) for e, v in zip(curve.epochs, values, strict=True) if v is not None]
        if points:
            axes.plot(*zip(*points, strict=True), style, label=f"{label} accuracy", markersize=4)
    # The first epoch to reach the best validation accuracy: the one SageMaker stores.
    scored = [(v, -e) for e, v in zip(curve.epochs, curve.validation, strict=True) if v is not None]
    if scored:
        accuracy, epoch = max(scored)
        axes.annotate(
            f"best {accuracy:.3f}",
            (-epoch, accuracy),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
        )
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.set_ylim(0, 1.05)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title or f"Accuracy by epoch — {Path(curve.source).name}")
    figure.tight_layout()
    write_atomically(out, lambda file: figure.savefig(file, format="png"))
    plt.close(figure)
    return out
