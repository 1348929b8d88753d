"""The shapes of MXNet's pre-activation ResNets (`symbols/resnet.py`): which depths exist, and what each
depth and image size build. Plain data, no torch, so that the hyperparameter schema can use it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.errors import UserError

# 4-stage ImageNet depths: units per stage (resnet.py; 269 is in its table too).
IMAGENET_UNITS: dict[int, tuple[int, ...]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
    269: (3, 30, 48, 8),
}
# The num_layers SageMaker accepts: 4-stage ImageNet networks, and 3-stage ones for images up to 28 pixels.
IMAGENET_DEPTHS = (18, 34, 50, 101, 152, 200)
SMALL_IMAGE_DEPTHS = (20, 32, 44, 56, 110)
NUM_LAYERS = IMAGENET_DEPTHS + SMALL_IMAGE_DEPTHS


@dataclass(frozen=True)
class ResNetSpec:
    """The shape of one pre-activation ResNet: everything MXNet's `get_symbol` derives from its inputs."""

    num_layers: int
    num_classes: int
    image_shape: tuple[int, int, int]
    units: tuple[int, ...]
    filters: tuple[int, ...]  # stem width, then the output width of each stage
    bottleneck: bool

    @property
    def small_stem(self) -> bool:
        """3x3 stem without BN/ReLU/pool for images up to 32 pixels high (CIFAR style)."""
        return self.image_shape[1] <= 32


def _small_image_layout(num_layers: int) -> tuple[int, tuple[int, ...], bool] | None:
    if (num_layers - 2) % 9 == 0 and num_layers >= 164:
        return (num_layers - 2) // 9, (16, 64, 128, 256), True
    if (num_layers - 2) % 6 == 0 and 2 < num_layers < 164:
        return (num_layers - 2) // 6, (16, 16, 32, 64), False
    return None


def resnet_spec(num_layers: int, num_classes: int, image_shape: tuple[int, int, int]) -> ResNetSpec:
    """The layout MXNet's resnet.py builds for these arguments, or a UserError naming the valid depths."""
    channels, height, width = image_shape
    if channels < 1 or height < 1 or width < 1:
        raise UserError(f"image_shape {image_shape} must have positive channels, height and width")
    if num_classes < 1:
        raise UserError(f"num_classes must be at least 1, got {num_classes}")
    if height <= 28:
        layout = _small_image_layout(num_layers)
        if layout is None:
            raise UserError(
                f"no experiments done on num_layers {num_layers} for images of height {height} (<= 28): "
                "use 20, 32, 44, 56 or 110 (any n with (n-2) % 6 == 0 below 164, or (n-2) % 9 == 0 "
                "from 164 up), or make image_shape at least 29 pixels high for 18, 34, 50, 101, 152, 200"
            )
        per_stage, filters, bottleneck = layout
        units: tuple[int, ...] = (per_stage,) * 3
    else:
        if num_layers not in IMAGENET_UNITS:
            raise UserError(
                f"no experiments done on num_layers {num_layers} for images of height {height} (> 28): "
                "use 18, 34, 50, 101, 152 or 200 (or 269), or an image_shape at most 28 pixels high for "
                "20, 32, 44, 56, 110"
            )
        units = IMAGENET_UNITS[num_layers]
        bottleneck = num_layers >= 50
        filters = (64, 256, 512, 1024, 2048) if bottleneck else (64, 64, 128, 256, 512)
    return ResNetSpec(num_layers, num_classes, tuple(image_shape), units, filters, bottleneck)
