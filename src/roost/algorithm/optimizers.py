"""MXNet 1.3's update rules for `sgd`, `nag`, `adam` and `rmsprop` (docs/algorithm.md §5.3) as torch
optimizers.

They differ from PyTorch's namesakes in ways that change training: MXNet's SGD keeps the learning rate
inside the momentum buffer (so an LR drop takes effect gradually), Adam adds an epsilon that is not
bias-corrected, RMSProp puts epsilon inside the square root. Gradients arrive as batch means (MXNet's
`rescale_grad = 1/batch` is the trainer's mean loss). Every update is a handful of `torch._foreach_*`
calls over all parameters of a group, so a ResNet-152 step costs a few dozen kernel launches, not
hundreds of Python-level iterations.

The learning rate is the caller's: it writes `param_groups[i]["lr"]` before each step (lr_schedule.py).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.optim import Optimizer

from roost.algorithm.network import mxnet_name
from roost.errors import UserError


def decays(name: str) -> bool:
    """MXNet's rule (`Optimizer.set_wd_mult`): weight decay only for `*_weight` and `*_gamma`."""
    return name.endswith(("_weight", "_gamma"))


@dataclass(frozen=True)
class Settings:
    """The optimiser hyperparameters of a job; each update rule takes the ones it uses."""

    learning_rate: float
    momentum: float = 0.9
    weight_decay: float = 0.0001
    beta_1: float = 0.9
    beta_2: float = 0.999
    eps: float = 1e-8
    gamma: float = 0.9


class _MXNetOptimizer(Optimizer, abc.ABC):
    """Shared plumbing: per-group lists of the parameters that have a gradient this step."""

    # Whether `weight_decay` applies, to `*_weight` and `*_gamma` parameters only (see build_optimizer).
    decays_weights: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def create(cls, params: Iterable[Any], settings: Settings) -> _MXNetOptimizer:
        """The optimiser over `params` (tensors, or param groups) with the settings it takes."""

    def _collect(self, group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            if p.grad.is_sparse:
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
        return params, [p.grad for p in params]

    def _buffers(self, params: list[torch.Tensor], *names: str) -> list[list[torch.Tensor]]:
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = 0
                for name in names:
                    state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] += 1
        return [[self.state[p][name] for p in params] for name in names]

    @staticmethod
    def _with_decay(grads: list[torch.Tensor], params: list[torch.Tensor], wd: float) -> list[torch.Tensor]:
        """g + wd * w as new tensors (`p.grad` stays what backward computed)."""
        if wd == 0.0:
            return grads
        return torch._foreach_add(grads, params, alpha=wd)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                params, grads = self._collect(group)
                if params:
                    self._update(group, params, grads)
        return loss

    @abc.abstractmethod
    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        """One update of `params` (all with gradients) of `group`, in place."""


class MXNetSGD(_MXNetOptimizer):
    """`m = momentum*m + lr*(g + wd*w); w -= m` (MXNet `sgd_mom_update`); no buffer when momentum is 0."""

    decays_weights = True

    def __init__(self, params: Iterable[Any], lr: float, momentum: float, weight_decay: float) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @classmethod
    def create(cls, params: Iterable[Any], settings: Settings) -> MXNetSGD:
        return cls(params, settings.learning_rate, settings.momentum, settings.weight_decay)

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if momentum == 0.0:
            torch._foreach_add_(params, self._with_decay(grads, params, wd), alpha=-lr)
            return
        # lr*g and lr*wd*w go into the buffer one after the other (as MXNet's kernel sums them), so no
        # temporary g + wd*w is allocated: a ResNet-152 step moves 240 MB less.
        (moms,) = self._buffers(params, "momentum_buffer")
        torch._foreach_mul_(moms, momentum)
        torch._foreach_add_(moms, grads, alpha=lr)
        if wd != 0.0:
            torch._foreach_add_(moms, params, alpha=lr * wd)
        torch._foreach_sub_(params, moms)


class MXNetNAG(_MXNetOptimizer):
    """`g += wd*w; m = momentum*m + g; w -= lr*(g + momentum*m)` (MXNet `nag_mom_update`)."""

    decays_weights = True

    def __init__(self, params: Iterable[Any], lr: float, momentum: float, weight_decay: float) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @classmethod
    def create(cls, params: Iterable[Any], settings: Settings) -> MXNetNAG:
        return cls(params, settings.learning_rate, settings.momentum, settings.weight_decay)

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        lr, momentum = group["lr"], group["momentum"]
        grads = self._with_decay(grads, params, group["weight_decay"])
        if momentum == 0.0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        (moms,) = self._buffers(params, "momentum_buffer")
        torch._foreach_mul_(moms, momentum)
        torch._foreach_add_(moms, grads)
        torch._foreach_add_(params, torch._foreach_add(grads, moms, alpha=momentum), alpha=-lr)


class MXNetAdam(_MXNetOptimizer):
    """MXNet `Adam`: `w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v) + eps)`, t counted per parameter."""

    def __init__(self, params: Iterable[Any], lr: float, beta_1: float, beta_2: float, eps: float) -> None:
        super().__init__(params, {"lr": lr, "beta_1": beta_1, "beta_2": beta_2, "eps": eps})

    @classmethod
    def create(cls, params: Iterable[Any], settings: Settings) -> MXNetAdam:
        return cls(params, settings.learning_rate, settings.beta_1, settings.beta_2, settings.eps)

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        lr, b1, b2 = group["lr"], group["beta_1"], group["beta_2"]
        means, variances = self._buffers(params, "mean", "variance")
        torch._foreach_mul_(means, b1)
        torch._foreach_add_(means, grads, alpha=1.0 - b1)
        torch._foreach_mul_(variances, b2)
        torch._foreach_addcmul_(variances, grads, grads, value=1.0 - b2)
        denominators = torch._foreach_sqrt(variances)
        torch._foreach_add_(denominators, group["eps"])
        steps = [self.state[p]["step"] for p in params]
        scales = [-lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t) for t in steps]
        torch._foreach_addcdiv_(params, means, denominators, scales)


class MXNetRMSProp(_MXNetOptimizer):
    """MXNet's non-centred RMSProp: `n = gamma*n + (1-gamma)*g^2; w -= lr*g/sqrt(n + eps)`."""

    def __init__(self, params: Iterable[Any], lr: float, gamma: float, eps: float) -> None:
        super().__init__(params, {"lr": lr, "gamma": gamma, "eps": eps})

    @classmethod
    def create(cls, params: Iterable[Any], settings: Settings) -> MXNetRMSProp:
        return cls(params, settings.learning_rate, settings.gamma, settings.eps)

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        gamma = group["gamma"]
        (squares,) = self._buffers(params, "square_avg")
        torch._foreach_mul_(squares, gamma)
        torch._foreach_addcmul_(squares, grads, grads, value=1.0 - gamma)
        denominators = torch._foreach_add(squares, group["eps"])
        torch._foreach_sqrt_(denominators)
        torch._foreach_addcdiv_(params, grads, denominators, value=-group["lr"])


# The optimizer hyperparameter's values, in the order the error message lists them.
_RULES: dict[str, type[_MXNetOptimizer]] = {
    "sgd": MXNetSGD,
    "nag": MXNetNAG,
    "adam": MXNetAdam,
    "rmsprop": MXNetRMSProp,
}
OPTIMIZERS = tuple(_RULES)


def _mxnet_param_name(name: str) -> str:
    mx = mxnet_name(name)
    if mx is None:
        raise ValueError(f"parameter {name!r} has no MXNet name, so its weight decay is undefined")
    return mx


def _decay_groups(named: list[tuple[str, nn.Parameter]], weight_decay: float) -> list[dict[str, Any]]:
    """MXNet's rule (`Optimizer.set_wd_mult`): `*_weight`/`*_gamma` decay, biases and betas do not."""
    decay = [p for n, p in named if decays(_mxnet_param_name(n))]
    keep = [p for n, p in named if not decays(_mxnet_param_name(n))]
    return [
        {"params": params, "weight_decay": wd}
        for params, wd in ((decay, weight_decay), (keep, 0.0))
        if params
    ]


def build_optimizer(
    name: str,
    named_parameters: Iterable[tuple[str, nn.Parameter]],
    *,
    learning_rate: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    eps: float = 1e-8,
    gamma: float = 0.9,
) -> Optimizer:
    """The MXNet optimizer `name` over the trainable parameters, named as `model.named_parameters()`.

    Names (DDP's `module.` and torch.compile's `_orig_mod.` prefixes allowed) pick the weight decay:
    with sgd and nag, `*_weight`/`*_gamma` parameters in MXNet's naming decay and the rest (biases,
    betas) do not, in two param groups. adam and rmsprop ignore `weight_decay` as SageMaker's
    documentation says; MXNet 1.3's own `adam_update`/`rmsprop_update` would add `wd*w` to the
    gradient if given one, but SageMaker documents `weight_decay` as sgd/nag-only, so we follow that.
    """
    rule = _RULES.get(name)
    if rule is None:
        raise UserError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    settings = Settings(learning_rate, momentum, weight_decay, beta_1, beta_2, eps, gamma)
    named = [(n, p) for n, p in named_parameters if p.requires_grad]
    params = _decay_groups(named, weight_decay) if rule.decays_weights else [p for _, p in named]
    return rule.create(params, settings)
