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
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from torch import nn

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
# What one .params may weigh when the network it should hold is not known (prediction): ResNet-200's
# weights are about 260 MB, and this leaves room for an fc1 of about 90,000 classes.
MAX_PARAMS_BYTES = 1 << 30
# Each of the other files read (symbol graph, shapes, class names, hyperparameters): ResNet-200's symbol
# graph is well under 1 MB, and 64 MB holds millions of class names.
MAX_METADATA_BYTES = 64 << 20
# MXNet's per-array overhead in a .params file (header, shape, context, type, name), generously.
_ARRAY_OVERHEAD = 512
_METADATA_FILES = (SYMBOL_FILE, SHAPES_FILE, CLASS_NAMES_FILE, HYPERPARAMETERS_FILE)


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


def params_bytes_limit(model: nn.Module) -> int:
    """The most a .params of `model`'s network can weigh: float32 weights and statistics, and headers."""
    tensors = model.state_dict().values()
    return sum(4 * t.numel() + _ARRAY_OVERHEAD for t in tensors) + _ARRAY_OVERHEAD


def _members_to_extract(
    tar: tarfile.TarFile, archive: Path, max_params_bytes: int
) -> tuple[list[tarfile.TarInfo], int]:
    """The members open_model reads (the latest .params and the metadata), judged from the headers alone,
    and how many checkpoints the archive holds.

    Every member is checked, extracted or not: paths must stay inside, no links or devices, and no file
    may be larger than what it can be; so a small archive that expands to gigabytes writes nothing.
    """
    latest: tuple[int, tarfile.TarInfo] | None = None
    metadata: list[tarfile.TarInfo] = []
    checkpoints = 0
    for member in tar:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise UserError(f"{archive}: refusing the member {member.name!r}: it points outside the folder")
        if not (member.isfile() or member.isdir()):
            raise UserError(
                f"{archive}: refusing the member {member.name!r}: links and devices are not allowed"
            )
        params = _PARAMS.match(name.name) if len(name.parts) == 1 else None
        limit = max_params_bytes if params else MAX_METADATA_BYTES
        if member.size > limit:
            raise UserError(
                f"{archive}: the member {member.name!r} would expand to {member.size >> 20} MB, more than a "
                f"{'model checkpoint' if params else 'model file'} can weigh ({limit >> 20} MB); refused"
            )
        if params and member.isfile():
            checkpoints += 1
            if latest is None or int(params[1]) > latest[0]:
                latest = (int(params[1]), member)
        elif member.isfile() and len(name.parts) == 1 and name.name in _METADATA_FILES:
            metadata.append(member)
    return metadata + ([latest[1]] if latest else []), checkpoints


def _safe_extract(archive: Path, into: Path, max_params_bytes: int) -> int:
    """Extract what open_model reads from a model.tar.gz; returns how many checkpoints it holds."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members, checkpoints = _members_to_extract(tar, archive, max_params_bytes)
            tar.extractall(into, members=members, filter="data")
            return checkpoints
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


def open_model(path: Path, workdir: Path, max_params_bytes: int = MAX_PARAMS_BYTES) -> StoredModel:
    """Find the model in `path` (a folder or a model.tar.gz, extracted under `workdir`).

    `max_params_bytes` bounds the checkpoint read: `params_bytes_limit` of the network expected, when
    the caller knows which one that is."""
    if not path.exists():
        raise UserError(f"{path}: no such model file or folder")
    folder, checkpoints = path, None  # an archive says how many checkpoints it holds; a folder shows them
    if path.is_file():
        folder = workdir / "model"
        folder.mkdir(parents=True, exist_ok=True)
        checkpoints = _safe_extract(path, folder, max_params_bytes)
    found = sorted((int(m[1]), p) for p in folder.iterdir() if (m := _PARAMS.match(p.name)))
    if not found:
        raise UserError(
            f"{path}: no {PREFIX}-NNNN.params inside; a model of SageMaker's image-classification algorithm "
            "(or of roost) is expected"
        )
    epoch, params = found[-1]
    if params.stat().st_size > max_params_bytes:
        raise UserError(
            f"{params}: {params.stat().st_size >> 20} MB, more than a model checkpoint can weigh "
            f"({max_params_bytes >> 20} MB); refused"
        )
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
        len(found) if checkpoints is None else checkpoints,
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
