"""A trained model loaded once, turning batches of prepared images into class probabilities."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from roost.algorithm.model_artifact import open_model
from roost.algorithm.network import ResNet, network_input


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class Predictor:
    """The network of one `model.tar.gz` (or its folder), in eval mode on `device`."""

    network: ResNet
    device: torch.device
    source: Path
    checkpoint: str  # file name of the .params used
    epoch: int
    checkpoints: int  # how many the artifact holds; the highest epoch is used
    num_layers: int
    num_classes: int
    image_shape: tuple[int, int, int]
    class_names: list[str] | None
    # Trained with multi_label=1 (binary cross-entropy per class): sigmoid, not softmax.
    multi_label: bool = False
    resize: int | None = None  # the training job's `resize`, for validation-style crops

    @classmethod
    def load(
        cls, path: Path, multi_label: bool | None = None, device: torch.device | None = None
    ) -> Predictor:
        """Open an artifact (UserError with the reason when it is not one) and build its network on
        `device` (default: the GPU when there is one). `multi_label` overrides what the artifact says."""
        device = device or default_device()
        with tempfile.TemporaryDirectory(prefix="roost-model-") as workdir:
            stored = open_model(path, Path(workdir))
            network = stored.network()
        network = network.to(device, memory_format=torch.channels_last)  # as network_input() lays out images
        return cls(
            network=network,
            device=device,
            source=path,
            checkpoint=stored.params.name,
            epoch=stored.epoch,
            checkpoints=stored.checkpoints,
            num_layers=stored.num_layers,
            num_classes=stored.num_classes,
            image_shape=stored.image_shape,
            class_names=stored.class_names,
            multi_label=stored.multi_label if multi_label is None else multi_label,
            resize=stored.resize,
        )

    @property
    def description(self) -> str:
        channels, height, width = self.image_shape
        which = f"epoch {self.epoch}"
        if self.checkpoints > 1:
            which += f", the latest of {self.checkpoints} checkpoints"
        head = "sigmoid per class (multi-label)" if self.multi_label else "softmax"
        return (
            f"ResNet-{self.num_layers}, {self.num_classes} classes, input {channels},{height},{width}, "
            f"{head}; weights {self.checkpoint} ({which}); on {self.device.type}"
        )

    def class_label(self, class_id: int) -> str:
        if self.class_names is None:
            return str(class_id)
        return self.class_names[class_id]

    @torch.inference_mode()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """N x H x W x C uint8 images → N x num_classes float32 probabilities."""
        logits = self.network(network_input(torch.from_numpy(images), self.device))
        probabilities = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=1)
        return probabilities.float().cpu().numpy()


def top_k(probabilities: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k most probable (class id, probability), most probable first; ties by lower id."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(int(i), float(probabilities[i])) for i in order]
