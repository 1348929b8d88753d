"""Where training starts from: fresh weights, a previous job's model (incremental training), or ImageNet.

- A `model` channel (`application/x-sagemaker-model`) holding a previous job's `model.tar.gz`: every
  weight is loaded, `fc1` included; num_layers, image_shape and num_classes must match (docs/algorithm.md
  §8.3), and `use_pretrained_model` is then ignored.
- `use_pretrained_model=1`: MXNet's ImageNet-1k ResNet of the same depth (the model-zoo file
  `resnet-<N>-0000.params`, whose names are SageMaker's), all but `fc1`, which stays freshly initialised
  (docs/algorithm.md §9). The file is looked for in $ROOST_PRETRAINED_DIR, then ~/.cache/roost/pretrained, and
  downloaded there from MXNet's model zoo when neither has it and the network allows.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from roost.algorithm.hyperparameters import Hyperparameters
from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.model_artifact import open_model, params_bytes_limit
from roost.algorithm.mxnet_format import load_into, load_params
from roost.algorithm.network import ResNet
from roost.atomic_file import write_atomically
from roost.errors import UserError

log = logging.getLogger("roost.algorithm")

MODEL_ZOO = "http://data.mxnet.io/models/imagenet/resnet/{n}-layers/resnet-{n}-0000.params"
DOWNLOAD_TIMEOUT_S = 60


def pretrained_folder() -> Path:
    configured = os.environ.get("ROOST_PRETRAINED_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "roost" / "pretrained"


def pretrained_file(num_layers: int) -> Path:
    """The ImageNet weights for `num_layers`: found locally, or downloaded once into the cache."""
    name = f"resnet-{num_layers}-0000.params"
    folder = pretrained_folder()
    path = folder / name
    if path.is_file():
        return path
    url = MODEL_ZOO.format(n=num_layers)
    log.info("Downloading the pretrained ResNet-%d from %s to %s", num_layers, url, path)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            write_atomically(path, lambda out: shutil.copyfileobj(response, out))
    except OSError as error:
        raise UserError(
            f"ClientError: use_pretrained_model=1 needs ImageNet weights for ResNet-{num_layers}, and {path} "
            f"is absent and could not be downloaded from {url} ({error}). Put MXNet's model-zoo file "
            f"{name} in {folder} (or point ROOST_PRETRAINED_DIR at a folder holding it)"
        ) from None
    return path


def _model_channel(job: JobDirectory) -> Path | None:
    folder = job.channel("model")
    if not folder.is_dir():
        return None
    archives = sorted(folder.rglob("*.tar.gz"))
    if archives:
        return archives[-1]
    return folder if any(folder.glob("*.params")) else None


def _network(num_layers: int, image_shape: tuple[int, int, int], num_classes: int) -> str:
    shape = ",".join(map(str, image_shape))
    return f"num_layers={num_layers}, image_shape={shape}, num_classes={num_classes}"


def load_starting_weights(job: JobDirectory, hp: Hyperparameters, model: ResNet) -> None:
    """Overwrite the fresh weights of `model` with a previous model's or ImageNet's, where asked."""
    previous = _model_channel(job)
    if previous is not None:
        with tempfile.TemporaryDirectory(prefix="roost-model-") as scratch:
            stored = open_model(previous, Path(scratch), params_bytes_limit(model))
            theirs = _network(stored.num_layers, stored.image_shape, stored.num_classes)
            ours = _network(hp.num_layers, hp.image_shape, hp.num_classes)
            if theirs != ours:
                raise UserError(
                    f"ClientError: the model channel's network ({theirs}) differs from this job's ({ours}): "
                    "incremental training needs the same num_layers, image_shape and num_classes"
                )
            load_into(model, stored.arrays)
        log.info("Incremental training: starting from %s (epoch %d)", stored.params.name, stored.epoch)
        return
    if hp.use_pretrained_model:
        path = pretrained_file(hp.num_layers)
        try:
            load_into(model, load_params(path), ignore=("fc1_weight", "fc1_bias"))
        except UserError as error:
            raise UserError(f"ClientError: the pretrained weights in {path} do not fit: {error}") from None
        log.info("Loaded pretrained weights from %s; fc1 starts afresh", path)
