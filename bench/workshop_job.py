"""The workshop's Lab 2 job, whole, in minutes: ResNet-152, 3x224x224, batch 24, 335 training and 112
validation photos, validation every epoch, as `roost algorithm train` runs it (not a test).

    python bench/workshop_job.py                                  # 15 epochs, float32 then float16
    python bench/workshop_job.py --epochs 2 --precision float16   # a shortened run, extrapolated to 15

Photos: `--photos DIR` (class folders), else ../shared/data/birds8 where it exists, else four species
drawn by roost's built-in sample (prep/sample.py) at 256 x 256. Lab 1's steps make the RecordIO files:
`roost im2rec --list --recursive --train-ratio 0.75`, the lists cut to 335 / 112 photos, then
`roost im2rec --resize 256`. Each precision runs in a fresh job directory, one after the other.

Reported per run, from the job's own log lines and the times they arrived:
- start-up: from the process start to the beginning of epoch 0 (imports, indexing, the network);
- training: the `Time cost` of each epoch (loading waits, forward, backward, update);
- validation: from an epoch's `Time cost` line to its `Validation-accuracy` line;
- the rest (checkpoints, the model artifact, shutdown): the wall time less the above;
- loading alone: the training loader (decode, augment, collate, in its worker process), iterated for
  one epoch without the network, against the rate at which the network consumed images.
With fewer epochs than `--full-epochs`, the total is extrapolated: start-up, epoch 0 as measured, and
every later epoch at the median of the measured later epochs (training + validation + checkpoint).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROOST_SHARED", ROOT.parent / "shared"))
TRAIN_PHOTOS, VALIDATION_PHOTOS, BATCH = 335, 112, 24
TIME_COST = re.compile(r"Epoch\[(\d+)\] Time cost=([0-9.]+)")
VALIDATION = re.compile(r"Epoch\[(\d+)\] Validation-accuracy=([0-9.]+)")
ARITHMETIC = re.compile(r"\] ((?:Arithmetic|precision_dtype=|Hint:).*)$")


def hyperparameters(classes: int, epochs: int, precision: str) -> dict[str, str]:
    """The workshop's Lab 2 request (tests/workshop.py has the same, made tiny)."""
    return {
        "num_layers": "152",
        "image_shape": "3,224,224",
        "num_classes": str(classes),
        "num_training_samples": str(TRAIN_PHOTOS),
        "mini_batch_size": str(BATCH),
        "epochs": str(epochs),
        "learning_rate": "0.1",
        "optimizer": "sgd",
        "augmentation_type": "crop",
        "top_k": "2",
        "use_pretrained_model": "0",
        "precision_dtype": precision,
    }


def photo_folder(requested: Path | None, scratch: Path) -> Path:
    if requested:
        return requested
    if (SHARED / "data" / "birds8").is_dir():
        return SHARED / "data" / "birds8"
    from roost.prep.sample import CLASSES, write_sample

    per_class = -(-(TRAIN_PHOTOS + VALIDATION_PHOTOS) // len(CLASSES))
    write_sample(scratch / "photos", per_class=per_class, size=256)
    return scratch / "photos"


def roost(*args: str | Path) -> str:
    command = [sys.executable, "-m", "roost", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def lab1(photos: Path, scratch: Path) -> tuple[Path, Path, int]:
    """(train .rec, validation .rec, classes): Lab 1's im2rec, the lists cut to the workshop's counts."""
    prefix = scratch / "birds"
    roost("im2rec", "--list", "--recursive", "--train-ratio", "0.75", prefix, photos)
    lists = {}
    for name, count in (("train", TRAIN_PHOTOS), ("val", VALIDATION_PHOTOS)):
        path = scratch / f"birds_{name}.lst"
        lines = path.read_text().splitlines(keepends=True)
        if len(lines) < count:
            sys.exit(f"{photos} gives {len(lines)} {name} photos; the workshop's job needs {count}")
        path.write_text("".join(lines[:count]))
        lists[name] = lines[:count]
    roost("im2rec", "--resize", "256", "--num-thread", "2", prefix, photos)
    classes = len({line.split("\t")[-1].split("/")[0] for line in lists["train"]})
    return scratch / "birds_train.rec", scratch / "birds_val.rec", classes


def job_directory(root: Path, train: Path, validation: Path, hp: dict[str, str]) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hp))
    channel = {"ContentType": "application/x-recordio", "TrainingInputMode": "File"}
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel, "validation": channel}))
    for name, source in (("train", train), ("validation", validation)):
        (root / "input" / "data" / name).mkdir(parents=True)
        (root / "input" / "data" / name / source.name).symlink_to(source)
    return root


@dataclass
class Run:
    precision: str
    wall: float = 0.0
    startup: float = 0.0
    training: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    arithmetic: list[str] = field(default_factory=list)

    @property
    def rest(self) -> float:
        return self.wall - self.startup - sum(self.training) - sum(self.validation)

    def extrapolated(self, epochs: int) -> float:
        """Minutes for `epochs` epochs: later epochs at the median of the measured later ones."""
        measured = len(self.training)
        if measured >= epochs or measured < 2:
            return self.wall / 60
        per_epoch_rest = self.rest / measured
        later = [t + v + per_epoch_rest for t, v in zip(self.training[1:], self.validation[1:], strict=True)]
        first = self.training[0] + self.validation[0] + per_epoch_rest
        return (self.startup + first + (epochs - 1) * statistics.median(later)) / 60


def train(job: Path, precision: str) -> Run:
    """Runs the job, timing each log line as it arrives."""
    run = Run(precision)
    start = time.monotonic()
    command = [sys.executable, "-m", "roost", "algorithm", "train", "--ml-dir", str(job)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    ended_training = 0.0
    for line in process.stdout:
        now = time.monotonic() - start
        if cost := TIME_COST.search(line):
            seconds = float(cost.group(2))
            if not run.training:
                run.startup = now - seconds
            run.training.append(seconds)
            ended_training = now
        elif accuracy := VALIDATION.search(line):
            run.validation.append(now - ended_training)
            run.accuracy.append(float(accuracy.group(2)))
            epoch = len(run.training) - 1
            print(f"  {precision}: epoch {epoch} at {now / 60:.1f} min", file=sys.stderr, flush=True)
        elif arithmetic := ARITHMETIC.search(line):
            run.arithmetic.append(arithmetic.group(1))
    if process.wait():
        sys.exit(f"the {precision} job failed: see its log above (exit status {process.returncode})")
    run.wall = time.monotonic() - start
    return run


def loader_alone(job: Path, hp: dict[str, str]) -> float:
    """Images/s of the training loader alone for one epoch, with the job's worker count."""
    import torch

    from roost.algorithm.augmentation import Augmentation
    from roost.algorithm.channel import resolve_channel
    from roost.algorithm.job_directory import JobDirectory
    from roost.algorithm.loader import ImageSamples, TrainingBatches, loader_workers, make_loader
    from roost.algorithm.samples import index_channel

    directory = JobDirectory(job)
    channel = resolve_channel(directory, "train", directory.channels()["train"])
    index = index_channel(channel, int(hp["num_classes"]), False)
    shape = tuple(int(side) for side in hp["image_shape"].split(","))
    augmentation = Augmentation.for_training(hp["augmentation_type"])
    samples = ImageSamples(index, shape, None, augmentation, seed=0)  # type: ignore[arg-type]
    batches = TrainingBatches(len(index), TRAIN_PHOTOS // BATCH, BATCH, 0, 1, seed=0)
    on_gpu = torch.cuda.is_available()
    loader = make_loader(samples, batches, loader_workers(1, on_gpu), pin=on_gpu)
    iterator = iter(loader)
    next(iterator)  # the worker's start-up, which a job pays once
    start = time.perf_counter()
    images = sum(len(batch.images) for batch in iterator)
    return images / (time.perf_counter() - start)


def report(run: Run, full_epochs: int, loading: float) -> None:
    epochs = len(run.training)
    images = TRAIN_PHOTOS // BATCH * BATCH
    steady = statistics.median(run.training[1:] or run.training)
    print(f"\nprecision_dtype={run.precision}: {epochs} epochs in {run.wall / 60:.2f} min")
    for line in run.arithmetic:
        print(f"  log: {line}")
    print(f"  start-up    {run.startup:7.1f} s")
    print(
        f"  training    {sum(run.training):7.1f} s  per epoch " + " ".join(f"{t:.1f}" for t in run.training)
    )
    print(
        f"  validation  {sum(run.validation):7.1f} s  per epoch "
        + " ".join(f"{v:.1f}" for v in run.validation)
    )
    print(f"  the rest    {run.rest:7.1f} s  (checkpoints, model artifact, shutdown)")
    consumed = images / steady
    print(
        f"  loading alone: {loading:.1f} images/s, {loading / consumed:.1f}x what the network consumed "
        f"({consumed:.1f} images/s in the steady epochs)"
    )
    print("  validation accuracy by epoch: " + " ".join(f"{a:.3f}" for a in run.accuracy))
    if epochs < full_epochs:
        print(f"  extrapolated to {full_epochs} epochs: {run.extrapolated(full_epochs):.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=Path, help="class folders of photos (default: birds8 or drawn)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs to run")
    parser.add_argument("--full-epochs", type=int, default=15, help="epochs to extrapolate to")
    parser.add_argument(
        "--precision", nargs="+", choices=("float32", "float16"), default=["float32", "float16"]
    )
    parser.add_argument(
        "--hp", action="append", default=[], metavar="KEY=VALUE", help="override a hyperparameter (to try it)"
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="roost-workshop-") as folder:
        scratch = Path(folder)
        photos = photo_folder(args.photos, scratch)
        train_rec, validation_rec, classes = lab1(photos, scratch)
        print(
            f"{photos}: {classes} classes, {TRAIN_PHOTOS} training and {VALIDATION_PHOTOS} validation photos"
        )
        for precision in args.precision:
            hp = {
                **hyperparameters(classes, args.epochs, precision),
                **dict(kv.split("=", 1) for kv in args.hp),
            }
            job = job_directory(scratch / f"job-{precision}", train_rec, validation_rec, hp)
            run = train(job, precision)
            report(run, args.full_epochs, loader_alone(job, hp))


if __name__ == "__main__":
    main()
