"""MXNet's pre-activation ResNet (`example/image-classification/symbols/resnet.py`, docs/algorithm.md §5.1)
in PyTorch.

Submodules are named so that a mechanical rename gives MXNet's parameter names: `stage1.unit1.bn1.weight`
is `stage1_unit1_bn1_gamma`, `bn0.running_var` is `bn0_moving_var`. That keeps `.params` files of
SageMaker jobs and of MXNet's model zoo loadable without a hand-written table.

The network takes raw 0..255 RGB (or grey) floats in NCHW and returns logits; `bn_data`, a batch norm
with gamma fixed to 1, normalises the input inside the network as MXNet's does.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as module_internals

from roost.algorithm.resnet_layout import ResNetSpec, resnet_spec

BN_EPS = 2e-5
# MXNet's momentum is the weight of the old running value (0.9); PyTorch's is that of the new one.
# PyTorch folds the unbiased batch variance into the running variance, as cuDNN does under MXNet on
# SageMaker's GPUs (MXNet's CPU kernel uses the biased one: a factor n/(n-1), n = batch x pixels).
BN_MOMENTUM = 0.1

# Prefixes that DDP and torch.compile put in front of the names of the module they wrap.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


class FixedGammaBatchNorm2d(nn.BatchNorm2d):
    """MXNet's `BatchNorm(fix_gamma=True)`: the scale is always 1, only the shift (beta) is learned.

    The scale is not a parameter at all, so nothing (weight decay, `requires_grad_`, a loaded file) can
    move it away from 1.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, eps=BN_EPS, momentum=BN_MOMENTUM, affine=False)
        self.bias = nn.Parameter(torch.zeros(num_features))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The forward pass without adding beta (same statistics and running-stat update)."""
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(
            x, self.running_mean, self.running_var, None, None, self.training, self.momentum, self.eps
        )


def _inside(
    size_in: int, size_out: int, kernel: int, stride: int, pad: int, like: torch.Tensor
) -> torch.Tensor:
    """[kernel, size_out] 0/1 matrix: does kernel tap k of output position o read a real input pixel?"""
    start = torch.arange(size_out, device=like.device) * stride - pad
    pos = start[None, :] + torch.arange(kernel, device=like.device)[:, None]
    return ((pos >= 0) & (pos < size_in)).to(like.dtype)


def _normalized_conv(bn: FixedGammaBatchNorm2d, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """`conv(bn(x))`, computed as `conv(bn.normalize(x)) + conv(beta)` while training.

    The input needs no gradient, so the split spares the backward pass the gradient of the normalised
    3-channel input, the costliest convolution gradient of the whole network on a CPU (the wide stem
    kernel over a 3-channel image), which the plain form needs only to sum it into beta's gradient.
    conv(beta) is the same for every image: per output pixel, the weights of the kernel taps that fall
    inside the image (zero padding contributes nothing) times beta.
    """
    if not (torch.is_grad_enabled() and bn.bias.requires_grad):
        return conv(bn(x))
    y = conv(bn.normalize(x))
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    # channels_last: add in the NHWC view, so the output stays channels_last and the gradient's sum
    # over the batch runs along contiguous memory (summing an NCHW-shaped view of it is 20x slower).
    nhwc = y.is_contiguous(memory_format=torch.channels_last)
    # At least float32 even under autocast: beta's gradient sums over every pixel of the batch.
    dtype = torch.promote_types(conv.weight.dtype, torch.float32)
    with torch.autocast(y.device.type, enabled=False):
        weight = conv.weight.to(dtype)
        taps = (weight * bn.bias.to(dtype)[None, :, None, None]).sum(1)  # [out, kh, kw]
        rows = _inside(x.shape[-2], y.shape[-2], kh, sh, ph, weight)  # type: ignore[arg-type]
        cols = _inside(x.shape[-1], y.shape[-1], kw, sw, pw, weight)  # type: ignore[arg-type]
        shift = torch.einsum("okl,kh,lw->hwo" if nhwc else "okl,kh,lw->ohw", taps, rows, cols).to(y.dtype)
    if nhwc:
        return (y.permute(0, 2, 3, 1) + shift).permute(0, 3, 1, 2)
    return y + shift


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)


def _bn_relu(bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """relu(bn(x)), the ReLU overwriting BN's fresh output (BN's backward does not need it).

    In place saves a tensor per BN: 3% of a CPU training step. Not when hooks can see the output: a
    forward hook may keep it, and a full backward hook wraps it in a view that must stay unchanged.
    """
    y = bn(x)
    return F.relu(y) if _may_be_hooked(bn) else torch.relu_(y)


_Activation = Callable[[nn.Module, torch.Tensor], torch.Tensor]


class _Recipe:
    """What a saved relu(bn(x)) is rebuilt from in the backward pass: the batch norm and its input."""

    __slots__ = ("bn", "values", "x")

    def __init__(self, bn: nn.Module, x: torch.Tensor) -> None:
        self.bn, self.x = bn, x
        self.values: torch.Tensor | None = None

    def rebuild(self) -> torch.Tensor:
        """The forward pass's values bit for bit: the same kernel on the same input and batch statistics.

        Once per recipe: the ReLU's backward and one or two convolutions' ask for the same tensor.
        """
        if self.values is None:
            bn = self.bn
            with torch.no_grad():
                normalized = F.batch_norm(self.x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
                self.values = torch.relu_(normalized)
        return self.values


class _RebuiltActivations:
    """Saved-tensor hooks that keep a unit's relu(bn(x)) outputs as recipes instead of values.

    Each such output is kept for the backward pass of the convolution that reads it and of the ReLU,
    about half of a training step's activation memory, while its input x is kept anyway (for the batch
    norm's backward). Rebuilt from x in the backward pass, it costs one more batch norm forward per
    activation and saves that memory: a ResNet-152 float32 step at 224 x 224, batch 24, peaks 1.6 GB
    lower, at the same speed (bench/README.md). Only the latest activation is matched, by holding it:
    a tensor freed earlier could have its memory reused by another one of the same shape.
    """

    def __init__(self) -> None:
        self._latest: tuple[torch.Tensor, _Recipe] | None = None

    def activation(self, bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
        values = bn(x)
        # Matched from here on: the ReLU's backward saves its output too, which is this tensor, in place.
        self._latest = (values, _Recipe(bn, x))
        return torch.relu_(values)

    def pack(self, saved: torch.Tensor) -> torch.Tensor | _Recipe:
        if self._latest is not None:
            values, recipe = self._latest
            if _same_tensor(saved, values):
                return recipe
        return saved

    @staticmethod
    def unpack(packed: torch.Tensor | _Recipe) -> torch.Tensor:
        return packed.rebuild() if isinstance(packed, _Recipe) else packed

    def close(self) -> None:
        """Let go of the last activation: the hooks live on in the graph until its backward pass."""
        self._latest = None


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (a.data_ptr(), a.shape, a.stride(), a.dtype) == (b.data_ptr(), b.shape, b.stride(), b.dtype)


# Hooks that see a module's output or wrap it for backward (per module, and the global ones).
_OUTPUT_HOOKS = ("_forward_hooks", "_backward_hooks", "_backward_pre_hooks")


def _may_be_hooked(module: nn.Module) -> bool:
    return any(getattr(module, name, None) for name in _OUTPUT_HOOKS) or any(
        getattr(module_internals, "_global" + name, None) for name in _OUTPUT_HOOKS
    )


class _Unit(nn.Module):
    """One pre-activation residual unit: (BN -> ReLU -> conv) x 2 or 3, plus a shortcut.

    The first unit of every stage (stage 1 included, even where shapes match) has a 1x1 projection
    shortcut `sc` fed by the first ReLU's output; the others add their input unchanged.
    """

    def __init__(self, cin: int, cout: int, stride: int, bottleneck: bool, project: bool) -> None:
        super().__init__()
        if bottleneck:
            mid = cout // 4
            shapes = [(cin, mid, 1, 1), (mid, mid, 3, stride), (mid, cout, 1, 1)]
        else:
            shapes = [(cin, cout, 3, stride), (cout, cout, 3, 1)]
        for i, (a, b, kernel, s) in enumerate(shapes, 1):
            self.add_module(f"bn{i}", _bn(a))
            self.add_module(f"conv{i}", _conv(a, b, kernel, s))
        self.depth = len(shapes)
        self.sc = _conv(cin, cout, 1, stride) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_norms = (getattr(self, f"bn{i}") for i in range(1, self.depth + 1))
        # Not under autocast: half-precision activations are half the bytes already, and there the
        # extra batch-norm pass costs ~5% of a step (float32: within noise).
        keep = torch.is_autocast_enabled(x.device.type) or any(map(_may_be_hooked, batch_norms))
        if keep or not (self.training and torch.is_grad_enabled()):
            return self._residual(x, _bn_relu)
        rebuilt = _RebuiltActivations()
        with torch.autograd.graph.saved_tensors_hooks(rebuilt.pack, rebuilt.unpack):
            y = self._residual(x, rebuilt.activation)
        rebuilt.close()
        return y

    def _residual(self, x: torch.Tensor, activation: _Activation) -> torch.Tensor:
        act1 = activation(self.bn1, x)
        y = self.conv1(act1)
        # The shortcut reads act1 before the next activation exists: see _RebuiltActivations.pack.
        shortcut = x if self.sc is None else self.sc(act1)
        y = self.conv2(activation(self.bn2, y))
        if self.depth == 3:
            y = self.conv3(activation(self.bn3, y))
        return y + shortcut


class ResNet(nn.Module):
    """Pre-activation ResNet with MXNet's layer names; raw 0..255 NCHW input, logits out."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        channels = spec.image_shape[0]
        stem = spec.filters[0]
        self.bn_data = FixedGammaBatchNorm2d(channels)
        if spec.small_stem:
            self.conv0 = _conv(channels, stem, 3, 1)
            self.bn0: nn.BatchNorm2d | None = None
        else:
            self.conv0 = _conv(channels, stem, 7, 2)
            self.bn0 = _bn(stem)
        cin = stem
        for i, (count, cout) in enumerate(zip(spec.units, spec.filters[1:], strict=True), 1):
            units = OrderedDict()
            for j in range(1, count + 1):
                stride = 2 if i > 1 and j == 1 else 1
                units[f"unit{j}"] = _Unit(cin, cout, stride, spec.bottleneck, project=j == 1)
                cin = cout
            self.add_module(f"stage{i}", nn.Sequential(units))
        self.bn1 = _bn(cin)
        self.fc1 = nn.Linear(cin, spec.num_classes)
        self.stage_names = tuple(f"stage{i}" for i in range(1, len(spec.units) + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _normalized_conv(self.bn_data, self.conv0, x)
        if self.bn0 is not None:
            x = F.max_pool2d(_bn_relu(self.bn0, x), 3, stride=2, padding=1)
        for name in self.stage_names:
            x = getattr(self, name)(x)
        x = _bn_relu(self.bn1, x)
        return self.fc1(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def network_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A loader batch (N x H x W x C uint8 pixels) → the network's input: float N x C x H x W on `device`.

    The pixels travel to a GPU as uint8, a quarter of the bytes of floats. NHWC viewed as NCHW is already
    channels-last, the layout oneDNN's CPU convolutions and cuDNN's tensor cores prefer (the network's
    weights are stored the same way), so the view costs no copy.
    """
    return images.to(device, non_blocking=True).permute(0, 3, 1, 2).float()


def build_network(num_layers: int, num_classes: int, image_shape: tuple[int, int, int]) -> ResNet:
    """MXNet resnet.py's network for `num_layers` and `image_shape` (C, H, W), initialised as in §5.2.

    Call `initialize` again with a seeded generator for reproducible weights.
    """
    model = ResNet(resnet_spec(num_layers, num_classes, image_shape))
    initialize(model)
    return model


@torch.no_grad()
def initialize(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """MXNet's `Xavier(rnd_type='gaussian', factor_type='in', magnitude=2)` and its BN/bias defaults.

    Conv and FC weights ~ N(0, sqrt(2 / fan_in)) with fan_in = in_channels * kernel area; biases and
    BN betas 0, BN gammas 1, moving means 0, moving variances 1. Parameters are drawn in module order,
    so a seeded generator gives the same network every time.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            fan_in = module.weight[0].numel()
            module.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            if module.weight is not None:
                module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.zero_()


def _strip_wrappers(name: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                stripped = True
    return name


_BN_SUFFIXES = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_var",
}


def mxnet_name(torch_name: str) -> str | None:
    """MXNet's name for a parameter or buffer of `ResNet` (DDP/compile prefixes allowed), or None.

    `num_batches_tracked` has no MXNet counterpart. Batch norms are the modules named `bn...`.
    """
    path = _strip_wrappers(torch_name).split(".")
    module, leaf = path[:-1], path[-1]
    if not module or leaf == "num_batches_tracked":
        return None
    if module[-1].startswith("bn"):
        if leaf not in _BN_SUFFIXES:
            return None
        leaf = _BN_SUFFIXES[leaf]
    elif leaf not in ("weight", "bias"):
        return None
    return "_".join([*module, leaf])


def is_aux(name: str) -> bool:
    """True for MXNet auxiliary states (BN moving statistics), saved as `aux:` rather than `arg:`."""
    return name.endswith(("_moving_mean", "_moving_var"))


def mxnet_names(model: nn.Module) -> dict[str, str]:
    """PyTorch state-dict key -> MXNet name, for every parameter and buffer that MXNet has."""
    names = {}
    for key in model.state_dict():
        name = mxnet_name(key)
        if name is not None:
            names[key] = name
    return names


def torch_names(model: nn.Module) -> dict[str, str]:
    """MXNet name -> PyTorch state-dict key; the inverse of `mxnet_names`."""
    return {mx: key for key, mx in mxnet_names(model).items()}


def fixed_gamma_names(model: nn.Module) -> list[str]:
    """MXNet names of the gammas fixed to 1: MXNet files carry them, PyTorch has no such parameter."""
    return [
        f"{_strip_wrappers(path).replace('.', '_')}_gamma"
        for path, module in model.named_modules()
        if isinstance(module, FixedGammaBatchNorm2d)
    ]
