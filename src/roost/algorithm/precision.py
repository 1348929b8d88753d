"""Which arithmetic a job computes in, from `precision_dtype` and the device (docs/algorithm.md §1.3).

float32 is float32 arithmetic, as MXNet's. float16 is mixed precision with float32 master weights:
float16 autocast with gradient scaling on a GPU; on a CPU, which has no fast float16, bfloat16 where
the CPU computes it natively (AVX512-BF16, or AMX tiles), else plain float32.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Precision:
    device_type: str
    half: torch.dtype | None  # the autocast type; None for plain float32
    description: str  # for the job's log: the arithmetic and the kernels
    note: str | None = None  # how precision_dtype=float16 was taken on this machine
    fell_back: bool = False  # float16 was asked for, but this machine trains in float32
    bfloat16_native: bool = False  # float32 on a CPU that also computes bfloat16 natively

    @property
    def scaled(self) -> bool:
        """float16 gradients underflow without loss scaling; bfloat16 has float32's range."""
        return self.half == torch.float16

    def autocast(self) -> AbstractContextManager[object]:
        return torch.autocast(self.device_type, dtype=self.half) if self.half else nullcontext()


def _cpu_kernels(half: bool) -> str:
    capabilities = torch.cpu.get_capabilities()
    if half:
        return "AMX kernels" if capabilities.get("amx_bf16") else "AVX512-BF16 kernels"
    if capabilities.get("avx512_f"):
        return "AVX-512 kernels"
    return "AVX2 kernels" if capabilities.get("avx2") else "generic kernels"


def choose_precision(precision_dtype: str, device: torch.device) -> Precision:
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
        if precision_dtype == "float16":
            return Precision(
                "cuda", torch.float16, f"Arithmetic: float16 mixed precision, loss scaling, on {gpu}"
            )
        return Precision("cuda", None, f"Arithmetic: float32 on {gpu}")
    if precision_dtype == "float16" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return Precision(
            "cpu",
            torch.bfloat16,
            f"Arithmetic: bfloat16 mixed precision, float32 weights, on the CPU ({_cpu_kernels(True)})",
            note="precision_dtype=float16 on a CPU: mixed precision in bfloat16, the CPU's half type",
        )
    float32 = f"Arithmetic: float32 on the CPU ({_cpu_kernels(False)})"
    if precision_dtype == "float16":
        note = "precision_dtype=float16 needs a GPU or a CPU with bfloat16; training in float32"
        return Precision("cpu", None, float32, note=note, fell_back=True)
    return Precision("cpu", None, float32, bfloat16_native=torch.ops.mkldnn._is_mkldnn_bf16_supported())


def bfloat16_speedup(repeats: int = 3) -> float:
    """How many times faster a 3x3 convolution's forward and backward run in bfloat16 than in float32 here.

    A ResNet step is mostly such convolutions, so this is what a float32 job would gain from
    precision_dtype=float16 on this CPU, measured rather than assumed (CPUs differ: AMX, AVX512-BF16).
    The probe takes about 0.1 s and draws from its own generator, so the job's random stream is untouched.
    """
    generator = torch.Generator().manual_seed(0)
    shape = (8, 64, 28, 28)
    images = torch.randn(shape, generator=generator).contiguous(memory_format=torch.channels_last)
    weight = torch.randn((64, 64, 3, 3), generator=generator).contiguous(memory_format=torch.channels_last)

    def seconds(half: torch.dtype | None) -> float:
        x, w = images.clone().requires_grad_(), weight.clone().requires_grad_()
        best = float("inf")
        for _ in range(repeats + 1):  # the first run of each arithmetic picks and warms its kernels
            tic = time.perf_counter()
            with torch.autocast("cpu", dtype=half) if half else nullcontext():
                out = F.conv2d(x, w, padding=1)
            out.float().sum().backward()
            best = min(best, time.perf_counter() - tic)
        return best

    return seconds(None) / seconds(torch.bfloat16)
