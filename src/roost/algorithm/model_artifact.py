"""The model folder and `model.tar.gz`: SageMaker's artifact layout, readable by MXNet and by roost.

Written by training (`ModelWriter`):
    image-classification-NNNN.params   weights, MXNet NDArray format, NNNN = 1-based epoch
    image-classification-symbol.json   the network as an MXNet symbol graph
    model-shapes.json                  [{"name": "data", "shape": [N, C, H, W]}]
    class-names.json                   roost's addition, when the input tells the class names
    hyperparameters.json               roost's addition: the job's hyperparameters (prediction reads
                                       multi_label and resize from it)
    metrics.jsonl                      roost's addition: one line of accuracy, time and rate per epoch
Read by prediction and incremental training (`open_model`), from a folder or a `model.tar.gz`, from
roost or from SageMaker itself: the network is rebuilt from the parameter names and shapes alone.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roost.algorithm.hyperparameters import Hyperparameters
from roost.algorithm.mxnet_format import load_into, load_params, save_params, write_model_shapes, write_symbol
from roost.algorithm.network import ResNet, build_network
from roost.algorithm.resnet_layout import IMAGENET_UNITS
from roost.atomic_file import write_text_atomically
from roost.errors import UserError

PREFIX = "image-classification"
SYMBOL_FILE = f"{PREFIX}-symbol.json"
SHAPES_FILE = "model-shapes.json"
CLASS_NAMES_FILE = "class-names.json"
HYPERPARAMETERS_FILE = "hyperparameters.json"
METRICS_FILE = "metrics.jsonl"
_PARAMS = re.compile(rf"^{PREFIX}-(\d{{4,}})\.params$")
# A model.tar.gz expands to at most this much: ResNet-200's weights are about 260 MB.
MAX_EXTRACTED_BYTES = 4 << 30


def params_name(epoch: int) -> str:
    return f"{PREFIX}-{epoch:04d}.params"


class ModelWriter:
    """Saves checkpoints into the model folder the way SageMaker's algorithm leaves it."""

    def __init__(
        self, folder: Path, model: ResNet, hp: Hyperparameters, class_names: list[str] | None
    ) -> None:
        self.folder = folder
        self.model = model
        self.hp = hp
        self.class_names = class_names
        self._described = False

    def _describe(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_symbol(self.folder / SYMBOL_FILE, self.model.spec, multi_label=bool(self.hp.multi_label))
        write_model_shapes(self.folder / SHAPES_FILE, self.hp.image_shape, self.hp.mini_batch_size)
        if self.class_names is not None:
            write_text_atomically(self.folder / CLASS_NAMES_FILE, json.dumps(self.class_names))
        settings = {
            name: ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            for name, value in self.hp.model_dump().items()
            if value is not None
        }
        write_text_atomically(self.folder / HYPERPARAMETERS_FILE, json.dumps(settings, indent=1))
        self._described = True

    def save(self, epoch: int, keep_earlier: bool) -> Path:
        """Write the weights as of 1-based `epoch`; without `keep_earlier`, remove other checkpoints."""
        if not self._described:
            self._describe()
        path = self.folder / params_name(epoch)
        save_params(path, self.model)
        if not keep_earlier:
            for other in self.folder.iterdir():
                if _PARAMS.match(other.name) and other != path:
                    other.unlink()
        return path

    @property
    def saved(self) -> bool:
        """Whether the folder holds a checkpoint (from this run or, after a resume, an earlier one)."""
        return self.folder.is_dir() and any(_PARAMS.match(p.name) for p in self.folder.iterdir())

    def write_metrics(self, history: list[dict[str, float | int | None]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.folder / METRICS_FILE, "".join(json.dumps(row) + "\n" for row in history))


@dataclass(frozen=True)
class StoredModel:
    """A trained model found in a folder or archive, with what is needed to rebuild and feed it."""

    folder: Path
    params: Path  # the checkpoint used: the highest epoch
    epoch: int
    checkpoints: int  # how many .params the artifact holds
    arrays: dict[str, np.ndarray]
    num_layers: int
    num_classes: int
    image_shape: tuple[int, int, int]
    class_names: list[str] | None
    multi_label: bool  # a sigmoid per class rather than a softmax over them
    resize: int | None  # the shorter side validation images were resized to, when known

    def network(self) -> ResNet:
        """The trained network with its weights loaded, in eval mode, on the CPU."""
        model = build_network(self.num_layers, self.num_classes, self.image_shape)
        load_into(model, self.arrays)
        return model.eval()


def _safe_extract(archive: Path, into: Path) -> None:
    """Extract a model.tar.gz refusing absolute paths, `..`, links, devices and archives too large."""
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                name = Path(member.name)
                if name.is_absolute() or ".." in name.parts:
                    raise UserError(
                        f"{archive}: refusing the member {member.name!r}: it points outside the folder"
                    )
                if not (member.isfile() or member.isdir()):
                    raise UserError(
                        f"{archive}: refusing the member {member.name!r}: links and devices are not allowed"
                    )
                total += member.size
                if total > MAX_EXTRACTED_BYTES:
                    raise UserError(
                        f"{archive}: expands past {MAX_EXTRACTED_BYTES >> 20} MB; not a model archive"
                    )
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        reason = str(error).strip().splitlines()[0]
        raise UserError(f"{archive}: not a readable model.tar.gz ({reason})") from None


def _architecture(arrays: dict[str, np.ndarray], source: Path) -> tuple[int, int]:
    """(num_layers, num_classes) of the pre-activation ResNet whose parameters these are."""
    try:
        num_classes = int(arrays["fc1_weight"].shape[0])
        units: dict[int, int] = {}
        for name in arrays:
            match = re.match(r"stage(\d+)_unit(\d+)_conv1_weight$", name)
            if match:
                stage, unit = int(match[1]), int(match[2])
                units[stage] = max(units.get(stage, 0), unit)
        bottleneck = "stage1_unit1_conv3_weight" in arrays
        per_stage = tuple(units[s] for s in sorted(units))
    except KeyError:
        per_stage = ()
    if len(per_stage) == 3 and len(set(per_stage)) == 1:
        return per_stage[0] * (9 if bottleneck else 6) + 2, num_classes
    for layers, layout in IMAGENET_UNITS.items():
        if layout == per_stage and (layers >= 50) == bottleneck:
            return layers, num_classes
    raise UserError(
        f"{source}: these weights are not an image-classification ResNet (no fc1 and stage/unit layers "
        "as SageMaker's algorithm names them); is this a model of another algorithm?"
    )


def open_model(path: Path, workdir: Path) -> StoredModel:
    """Find the model in `path` (a folder or a model.tar.gz, extracted under `workdir`)."""
    if not path.exists():
        raise UserError(f"{path}: no such model file or folder")
    folder = path
    if path.is_file():
        folder = workdir / "model"
        folder.mkdir(parents=True, exist_ok=True)
        _safe_extract(path, folder)
    found = sorted((int(m[1]), p) for p in folder.iterdir() if (m := _PARAMS.match(p.name)))
    if not found:
        raise UserError(
            f"{path}: no {PREFIX}-NNNN.params inside; a model of SageMaker's image-classification algorithm "
            "(or of roost) is expected"
        )
    epoch, params = found[-1]
    arrays = load_params(params)
    num_layers, num_classes = _architecture(arrays, path)
    shape_file = folder / SHAPES_FILE
    try:
        shape = json.loads(shape_file.read_text())[-1]["shape"]
        image_shape = (int(shape[1]), int(shape[2]), int(shape[3]))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        raise UserError(
            f"{path}: {SHAPES_FILE} is missing or unreadable; it gives the input image shape"
        ) from None
    class_names = _json_file(folder / CLASS_NAMES_FILE, path)
    if not (isinstance(class_names, list) and len(class_names) == num_classes):
        class_names = None
    settings = _json_file(folder / HYPERPARAMETERS_FILE, path) or {}
    if "multi_label" in settings:
        multi_label = settings["multi_label"] == "1"
    else:  # a model of SageMaker itself: its symbol's head says
        multi_label = _head(folder) == "LogisticRegressionOutput"
    resize = int(settings["resize"]) if str(settings.get("resize", "")).isdigit() else None
    return StoredModel(
        folder,
        params,
        epoch,
        len(found),
        arrays,
        num_layers,
        num_classes,
        image_shape,
        class_names,
        multi_label,
        resize,
    )


def _json_file(path: Path, source: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise UserError(f"{source}: {path.name} is not readable JSON ({error})") from None


def _head(folder: Path) -> str | None:
    """The operator at the end of the MXNet symbol graph (SoftmaxOutput for single-label models)."""
    try:
        graph = _json_file(folder / SYMBOL_FILE, folder)
        return graph["nodes"][graph["heads"][0][0]]["op"]
    except (UserError, TypeError, KeyError, IndexError):
        return None
