"""The algorithm's hyperparameters: SageMaker's names, defaults, valid values and error wording
(docs/algorithm.md §1).

Values arrive as strings (the API's type is string -> string); native numbers are accepted too for
programmatic use. Keys starting with `_` are injected by the platform in some situations and ignored.
This one schema is imported by the platform to validate requests early; it is never copied.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from roost.algorithm.resnet_layout import IMAGENET_DEPTHS, NUM_LAYERS, SMALL_IMAGE_DEPTHS
from roost.errors import UserError


class HyperparameterError(UserError):
    """A hyperparameter is unknown, missing or outside its valid values; the text is SageMaker's."""


@dataclass(frozen=True)
class Expects:
    """How SageMaker's error message describes the values a hyperparameter takes."""

    text: str


_INT_PATTERN = "^[1-9][0-9]*$"
_FLOAT_PATTERN = r"^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$"
_SHAPE_PATTERN = r"^[13] *, *[1-9][0-9]* *, *[1-9][0-9]*$"
_STEPS_PATTERN = r"^[1-9][0-9]*( *, *[1-9][0-9]*)*$"


# The largest image height, width and resize: 8192 x 8192 is the 64-megapixel limit on decoded images
# (formats/image.py MAX_PIXELS); beyond it no image could be decoded, and no batch would fit in memory.
MAX_IMAGE_SIDE = 8192


def _invalid() -> PydanticCustomError:
    return PydanticCustomError("sagemaker", "invalid value")


def _positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and re.fullmatch(_INT_PATTERN, value.strip()):
        return int(value)
    raise _invalid()


def _unit_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _invalid()
    if isinstance(value, str):
        if not re.fullmatch(_FLOAT_PATTERN, value.strip()):
            raise _invalid()
        value = float(value)
    if isinstance(value, int | float) and 0.0 <= value <= 1.0:
        return float(value)
    raise _invalid()


def _one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise _invalid()
        return text

    return check


def _flag(value: Any) -> int:
    return int(_one_of("0", "1")(value))


def _image_side(value: Any) -> int:
    side = _positive_int(value)
    if side > MAX_IMAGE_SIDE:
        raise _invalid()
    return side


def _image_shape(value: Any) -> tuple[int, int, int]:
    if not isinstance(value, str) or not re.fullmatch(_SHAPE_PATTERN, value.strip()):
        raise _invalid()
    channels, height, width = (int(part) for part in value.split(","))
    if max(height, width) > MAX_IMAGE_SIDE:
        raise _invalid()
    return channels, height, width


def _epoch_steps(value: Any) -> tuple[int, ...]:
    text = str(value).strip()
    if not re.fullmatch(_STEPS_PATTERN, text):
        raise _invalid()
    steps = tuple(int(part) for part in text.split(","))
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        raise _invalid()
    return steps


def _top_k(value: Any) -> int:
    k = _positive_int(value)
    if k < 2:
        raise _invalid()
    return k


AUGMENTATION_TYPES = ("crop", "crop_color", "crop_color_transform")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "nag")
KV_STORES = ("dist_sync", "dist_async", "device", "local")
PRECISION_DTYPES = ("float32", "float16")


def _choices(values: tuple[object, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _choice(values: tuple[str, ...], optional: bool = False) -> Any:
    """A hyperparameter taking one of `values`, each list written once: the type, the check, the message."""
    kind: Any = Literal[values]  # type: ignore[valid-type]
    return Annotated[
        kind | None if optional else kind, BeforeValidator(_one_of(*values)), Expects(_choices(values))
    ]


def _num_layers(value: Any) -> int:
    return int(_one_of(*(str(n) for n in NUM_LAYERS))(value))


_POSITIVE = Expects(f"a string which matches the pattern '{_INT_PATTERN}'; or an integer greater than 0")
_UNIT = Expects(f"a string which matches the pattern '{_FLOAT_PATTERN}'; or a number between 0 and 1")

PositiveInt = Annotated[int, BeforeValidator(_positive_int), _POSITIVE]
# Optional ones carry the annotations on the whole type: inside `X | None` pydantic drops them.
OptionalPositiveInt = Annotated[int | None, BeforeValidator(_positive_int), _POSITIVE]
UnitFloat = Annotated[float, BeforeValidator(_unit_float), _UNIT]
Flag = Annotated[int, BeforeValidator(_flag), Expects("'0', '1'")]


class Hyperparameters(BaseModel):
    """Typed, validated hyperparameters with the container's effective defaults (docs/algorithm.md §1.3)."""

    # The attribute docstrings are the descriptions the console shows beside each field (spec §1.3).
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    num_classes: PositiveInt
    """Number of output classes: the width of the final fully connected layer. For multi-label training,
    the total number of classes.
    """
    num_training_samples: PositiveInt
    """Number of training examples in the input data set (the train channel's record count). Each epoch
    runs floor(num_training_samples / mini_batch_size) batches.
    """
    augmentation_type: _choice(AUGMENTATION_TYPES, optional=True) = None
    """Data augmentation: 'crop' randomly crops and mirrors, 'crop_color' also shifts hue, saturation and
    lightness, 'crop_color_transform' also rotates, shears and changes the aspect ratio. Empty: no
    augmentation, centre crop.
    """
    beta_1: UnitFloat = 0.9
    """Adam's beta1: the decay rate of the first-moment estimates."""
    beta_2: UnitFloat = 0.999
    """Adam's beta2: the decay rate of the second-moment estimates."""
    checkpoint_frequency: OptionalPositiveInt = None
    """Period, in epochs, at which model parameters are stored; all of them end up in model.tar.gz. Empty:
    store the epoch with the best validation accuracy.
    """
    early_stopping: Annotated[
        bool, BeforeValidator(lambda v: _one_of("True", "False")(v) == "True"), Expects("'True', 'False'")
    ] = False
    """True stops training when validation accuracy has stopped improving."""
    early_stopping_min_epochs: PositiveInt = 10
    """Early stopping is not considered before this many epochs."""
    early_stopping_patience: PositiveInt = 5
    """Epochs without improvement before early stopping ends training."""
    early_stopping_tolerance: UnitFloat = 0.0
    """Relative tolerance: an improvement of validation accuracy divided by the best so far that is below
    this does not count as an improvement.
    """
    epochs: PositiveInt = 30
    """Number of training epochs (passes over the training data)."""
    eps: UnitFloat = 1e-8
    """Epsilon for adam and rmsprop, added to avoid division by zero."""
    gamma: UnitFloat = 0.9
    """rmsprop's decay factor for the moving average of the squared gradient."""
    image_shape: Annotated[
        tuple[int, int, int],
        BeforeValidator(_image_shape),
        Expects(
            f"a string which matches the pattern '{_SHAPE_PATTERN}' with a height and a width of at most "
            f"{MAX_IMAGE_SIDE}"
        ),
    ] = (3, 224, 224)
    """Input image dimensions channels,height,width, the network's input size. Training images are cropped
    to it; at inference images are resized to it.
    """
    kv_store: _choice(KV_STORES, optional=True) = None
    """Weight-update synchronisation across machines: dist_sync (after every batch) or dist_async. Not used
    on a single machine.
    """
    learning_rate: UnitFloat = 0.1
    """Initial learning rate."""
    lr_scheduler_factor: UnitFloat = 0.1
    """The learning rate is multiplied by this factor at each lr_scheduler_step epoch."""
    lr_scheduler_step: Annotated[
        tuple[int, ...] | None,
        BeforeValidator(_epoch_steps),
        Expects(f"a string of strictly increasing epochs which matches the pattern '{_STEPS_PATTERN}'"),
    ] = None
    """Comma-separated epochs after which the learning rate is reduced (by lr_scheduler_factor), e.g.
    '10,20'. Empty: a constant learning rate.
    """
    mini_batch_size: PositiveInt = 32
    """Batch size per machine, split across its GPUs. With dist_sync the effective batch is mini_batch_size
    times the number of machines.
    """
    momentum: UnitFloat = 0.9
    """Momentum for sgd and nag; ignored by other optimizers."""
    multi_label: Flag = 0
    """1 trains with several labels per image (sigmoid outputs); the logged accuracy is the average over
    all classes.
    """
    num_layers: Annotated[int, BeforeValidator(_num_layers), Expects(_choices(NUM_LAYERS))] = 152
    """Number of layers of the ResNet: 18, 34, 50, 101, 152 or 200 for large images, 20, 32, 44, 56 or 110
    for small ones (e.g. 28x28). Pretrained models exist only for the first set.
    """
    optimizer: _choice(OPTIMIZERS) = "sgd"
    """The optimizer: sgd, adam, rmsprop or nag (Nesterov accelerated gradient)."""
    precision_dtype: _choice(PRECISION_DTYPES) = "float32"
    """Precision of the weights: float32, or float16 for mixed-precision training on GPUs."""
    resize: Annotated[
        int | None,
        BeforeValidator(_image_side),
        Expects(
            f"a string which matches the pattern '{_INT_PATTERN}'; or an integer between 1 and "
            f"{MAX_IMAGE_SIDE}"
        ),
    ] = None
    """Length in pixels of the shorter side of each training image after resizing; should be larger than
    image_shape's height and width. Empty: images are used as they are.
    """
    top_k: Annotated[
        int | None,
        BeforeValidator(_top_k),
        Expects(f"a string which matches the pattern '{_INT_PATTERN}'; or an integer greater than 1"),
    ] = None
    """Also report top-k accuracy during training (Train-top_k_accuracy_<k>); must be greater than 1."""
    use_pretrained_model: Flag = 0
    """1 starts from an ImageNet-pretrained ResNet of the same depth (only the last fully connected layer
    starts afresh) and fine-tunes all of it (transfer learning).
    """
    use_weighted_loss: Flag = 0
    """1 weights the multi-label loss by the class distribution (multi-label training only)."""
    weight_decay: UnitFloat = 0.0001
    """L2 weight-decay coefficient for sgd and nag; ignored by other optimizers."""

    @model_validator(mode="after")
    def _consistent(self) -> Hyperparameters:
        if self.checkpoint_frequency is not None and self.checkpoint_frequency > self.epochs:
            raise PydanticCustomError(
                "sagemaker_relation",
                "Customer Error: The value '{value}' is not valid for the 'checkpoint_frequency' "
                "hyperparameter which expects an integer between 1 and the value of 'epochs' ({epochs}) "
                "(caused by ValidationError)",
                {"value": self.checkpoint_frequency, "epochs": self.epochs},
            )
        if self.use_pretrained_model and self.num_layers in SMALL_IMAGE_DEPTHS:
            raise PydanticCustomError(
                "sagemaker_relation",
                "Customer Error: use_pretrained_model=1 needs num_layers in {depths}: "
                "there are no pretrained models for {layers} layers (caused by ValidationError)",
                {"layers": self.num_layers, "depths": ", ".join(map(str, IMAGENET_DEPTHS))},
            )
        return self

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    @property
    def height(self) -> int:
        return self.image_shape[1]

    @property
    def width(self) -> int:
        return self.image_shape[2]


# What automatic model tuning may tune (SageMaker's IC-tuning page), and the kind of range each takes.
TUNABLE_HYPERPARAMETERS: dict[str, str] = {
    "beta_1": "Continuous",
    "beta_2": "Continuous",
    "eps": "Continuous",
    "gamma": "Continuous",
    "learning_rate": "Continuous",
    "mini_batch_size": "Integer",
    "momentum": "Continuous",
    "optimizer": "Categorical",
    "weight_decay": "Continuous",
}


def _valid_values(name: str) -> str:
    for meta in Hyperparameters.model_fields[name].metadata:
        if isinstance(meta, Expects):
            return meta.text
    raise AssertionError(f"hyperparameter {name} has no Expects annotation")


def _expects(name: str) -> str:
    text = _valid_values(name)
    verb = "accepts" if text.startswith("'") else "expects"
    return f"which {verb} one of the following: {text}"


def _message(error: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    kind, location = error["type"], error["loc"]
    if kind == "extra_forbidden":
        return (
            f"Customer Error: Additional properties are not allowed ('{location[0]}' was unexpected) "
            "(caused by ValidationError)"
        )
    if kind == "missing":
        return f"Customer Error: '{location[0]}' is a required property (caused by ValidationError)"
    if kind == "sagemaker_relation":
        return str(error["msg"])
    name = str(location[0])
    return (
        f"Customer Error: The value '{given[name]}' is not valid for the '{name}' hyperparameter "
        f"{_expects(name)} (caused by ValidationError)"
    )


def parse_hyperparameters(raw: Mapping[str, Any]) -> Hyperparameters:
    """Validate the string map of a training request; raise HyperparameterError in SageMaker's words."""
    given = {key: value for key, value in raw.items() if not key.startswith("_")}
    try:
        return Hyperparameters.model_validate(given)
    except ValidationError as failure:
        # Name an unknown key first (a typo explains everything else), then bad values, then missing ones.
        order = {"extra_forbidden": 0, "missing": 2}
        first = min(failure.errors(), key=lambda e: order.get(e["type"], 1))
        raise HyperparameterError(_message(first, given)) from None


def hyperparameter_errors(raw: Mapping[str, Any]) -> dict[str, str]:
    """Every problem of a string map at once, by hyperparameter name ("" for one between several), in
    the words parse_hyperparameters uses: what a form shows beside each field as it is typed."""
    given = {key: value for key, value in raw.items() if not key.startswith("_")}
    try:
        Hyperparameters.model_validate(given)
    except ValidationError as failure:
        return {str(e["loc"][0]) if e["loc"] else "": _message(e, given) for e in failure.errors()}
    return {}


@dataclass(frozen=True)
class HyperparameterField:
    """One hyperparameter as a form shows it: its default in the API's string form ("" for none)."""

    name: str
    required: bool
    default: str
    description: str
    valid_values: str


def _as_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def hyperparameter_fields() -> list[HyperparameterField]:
    """Every hyperparameter, required ones first, each with its default, description and valid values."""
    fields = [
        HyperparameterField(
            name=name,
            required=field.is_required(),
            default="" if field.is_required() else _as_string(field.default),
            description=" ".join((field.description or "").split()),
            valid_values=_valid_values(name),
        )
        for name, field in Hyperparameters.model_fields.items()
    ]
    return sorted(fields, key=lambda f: not f.required)


def summary_lines(hp: Hyperparameters) -> list[str]:
    """The parameter block the algorithm logs after validation, line for line as SageMaker's
    (docs/algorithm.md §1.1)."""
    lines = [f"use_pretrained_model: {hp.use_pretrained_model}", f"multi_label: {hp.multi_label}"]
    if hp.use_pretrained_model:
        lines.append("Using pretrained model for initializing weights and transfer learning.")
    lines += [
        "---- Parameters ----",
        f"num_layers: {hp.num_layers}",
        f"data type: <type 'numpy.{hp.precision_dtype}'>",
        f"epochs: {hp.epochs}",
    ]
    if hp.resize is not None:
        lines.append(f"image resize size: {hp.resize}")
    lines += [
        f"optimizer: {hp.optimizer}",
        f"momentum: {hp.momentum}",
        f"weight_decay: {hp.weight_decay}",
        f"learning_rate: {hp.learning_rate}",
        f"num_training_samples: {hp.num_training_samples}",
        f"mini_batch_size: {hp.mini_batch_size}",
        f"image_shape: {','.join(map(str, hp.image_shape))}",
        f"num_classes: {hp.num_classes}",
        f"augmentation_type: {hp.augmentation_type}",
        f"kv_store: {hp.kv_store or 'device'}",
    ]
    if hp.top_k is not None:
        lines.append(f"top_k: {hp.top_k}")
    if hp.checkpoint_frequency is None:
        lines.append("checkpoint_frequency not set, will store the best model")
    else:
        lines.append(f"checkpoint_frequency: {hp.checkpoint_frequency}")
    lines.append("--------------------")
    return lines
