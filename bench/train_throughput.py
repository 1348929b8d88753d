"""Training-step throughput of roost's ResNet + optimiser against MXNet 1.9.1's, side by side, on the CPU.

    python bench/train_throughput.py [--layers 18 50 152] [--size 224] [--batch 24] [--steps 8] [--warmup 2]
                                     [--rounds 2] [--threads 2] [--variants roost roost-bf16 ...]

One training step = forward, softmax cross-entropy, backward, SGD update (momentum 0.9, wd 1e-4), on a
fixed random batch of raw 0..255 pixels and labels over 1000 classes. Both engines run the same network:
roost writes its image-classification-symbol.json and MXNet's Module binds that. Every measurement is a
fresh process with `--threads` threads (OMP_NUM_THREADS too); engines alternate for `--rounds` rounds so
that a noisy machine hurts both alike. Reported: images/s from the median step time over all rounds
(warm-up steps excluded), from the best round's median (on a shared machine, the least disturbed
measurement), each round's, the peak RSS of each engine's process (the largest over its rounds), and
for roost the split of a step into forward, backward and update.

What bounds a step (`--profile`): after its timed steps each roost process profiles two more with
torch.profiler and reports its convolutions' share of the step and their rate: the convolution FLOPs
(2 x multiply-adds, forward; twice that backward, where the stem's input gradient is not computed) over
the time in oneDNN's convolution kernels, against this machine's matmul rate in the same arithmetic
(a 2048 x 2048 matmul, best of 20, measured in its own process before the rounds).

MXNet's Python: $ROOST_MXNET_PYTHON, else $ROOST_MXNET_VENV/bin/python (default /tmp/roost-mxnet-venv, the
venv the tests build with ../shared/reference/mxnet-venv.sh).

roost variants (`--variants`, default `roost`):
  roost          what the trainer does on a CPU for float32: channels_last, tune_cpu_allocator(), eager
  roost-bf16     what precision_dtype=float16 does on a CPU with bfloat16: `roost` under bfloat16 autocast
  roost-nchw     without channels_last
  roost-untuned  without tune_cpu_allocator() (glibc unmaps freed activations; page faults every step)
  roost-compile  torch.compile(model) on top of `roost` (compile time not counted)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("roost", "roost-bf16", "roost-nchw", "roost-untuned", "roost-compile")
NUM_CLASSES = 1000  # as MXNET_WORKER's labels
CONV_KERNELS = ("aten::mkldnn_convolution", "aten::convolution_backward")

MXNET_WORKER = """
import json, resource, sys, time
import numpy as np, mxnet as mx
symbol, batch, shape, steps = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
mod = mx.mod.Module(mx.sym.load(symbol), context=mx.cpu())
mod.bind(data_shapes=[('data', [batch] + shape)], label_shapes=[('softmax_label', (batch,))])
mod.init_params(mx.init.Xavier(rnd_type='gaussian', factor_type='in', magnitude=2))
# As BaseModule.fit: rescale_grad = 1/batch.
mod.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.01, 'momentum': 0.9, 'wd': 1e-4,
                                                       'rescale_grad': 1.0 / batch})
rng = np.random.RandomState(0)
data = mx.io.DataBatch([mx.nd.array(rng.uniform(0, 255, [batch] + shape))],
                       [mx.nd.array(rng.randint(0, 1000, batch))])
times = []
for _ in range(steps):
    start = time.perf_counter()
    mod.forward_backward(data)
    mod.update()
    mx.nd.waitall()
    times.append({'step': time.perf_counter() - start})
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'engine': 'mxnet-' + mx.__version__, 'times': times, 'peak_rss_mb': rss}))
"""


def matmul_rates(threads: int) -> None:
    """Runs in a fresh process: this machine's 2048^2 matmul GFLOP/s in float32 and bfloat16, as JSON."""
    import torch

    torch.set_num_threads(threads)
    rates = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = (torch.randn(2048, 2048).to(dtype) for _ in range(2))
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
        rates[str(dtype).removeprefix("torch.")] = 2 * 2048**3 / best / 1e9
    print(json.dumps(rates))


def _conv_flops(model, images) -> float:  # type: ignore[no-untyped-def]
    """FLOPs of one training step's convolutions: forward, plus twice that backward (input and weight
    gradients), less the stem's input gradient, which the network does not compute."""
    import torch

    forward: list[float] = []

    def count(module: torch.nn.Conv2d, inputs: tuple, output: torch.Tensor) -> None:
        forward.append(2.0 * output.numel() * module.weight[0].numel())

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    return 3 * sum(forward) - forward[0]


def _profiled_conv_time(step) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(seconds in convolution kernels, seconds of the step) for the faster of two profiled steps."""
    from torch.profiler import ProfilerActivity, profile

    best = (float("inf"), float("inf"))
    for _ in range(2):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            step()
            total = time.perf_counter() - start
        conv = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in CONV_KERNELS) / 1e6
        best = min(best, (conv, total), key=lambda pair: pair[1])
    return best


def roost_worker(
    variant: str, layers: int, size: int, batch: int, steps: int, threads: int, profile: bool
) -> None:
    """Runs in a fresh process: `steps` training steps of `variant`, times printed as JSON."""
    import torch
    import torch.nn.functional as F

    from roost.algorithm.network import build_network, initialize
    from roost.algorithm.optimizers import build_optimizer
    from roost.machine import tune_cpu_allocator

    torch.set_num_threads(threads)
    if variant != "roost-untuned":
        tune_cpu_allocator()
    model = build_network(layers, NUM_CLASSES, (3, size, size))
    initialize(model, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, size, size, generator=generator) * 255
    labels = torch.randint(0, NUM_CLASSES, (batch,), generator=generator)
    if variant != "roost-nchw":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = build_optimizer(
        "sgd", model.named_parameters(), learning_rate=0.01, momentum=0.9, weight_decay=1e-4
    )
    net = torch.compile(model) if variant == "roost-compile" else model
    precision = torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "roost-bf16")
    times = []

    def step() -> None:
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with precision:
            loss = F.cross_entropy(net(images).float(), labels)
        forward = time.perf_counter()
        loss.backward()
        backward = time.perf_counter()
        optimizer.step()
        end = time.perf_counter()
        times.append(
            {
                "step": end - start,
                "forward": forward - start,
                "backward": backward - forward,
                "update": end - backward,
            }
        )

    for _ in range(steps):
        step()
    result = {"engine": variant, "times": times}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profile:
        conv_seconds, step_seconds = _profiled_conv_time(step)
        with precision:
            flops = _conv_flops(model, images)
        result["conv"] = {"seconds": conv_seconds, "step": step_seconds, "flops": flops}
    print(json.dumps(result))


def mxnet_python() -> Path:
    if "ROOST_MXNET_PYTHON" in os.environ:
        return Path(os.environ["ROOST_MXNET_PYTHON"])
    return Path(os.environ.get("ROOST_MXNET_VENV", "/tmp/roost-mxnet-venv")) / "bin" / "python"


def run(command: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{command[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace, layers: int, symbol: Path) -> dict[str, list[dict]]:
    """engine -> one worker result per round (warm-up steps dropped from its times)."""
    steps = args.warmup + args.steps
    results: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        print(f"  load average {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        commands = []
        if not args.no_mxnet:
            shape = json.dumps([3, args.size, args.size])
            commands.append(
                [str(mxnet_python()), "-c", MXNET_WORKER, str(symbol), str(args.batch), shape, str(steps)]
            )
        for variant in args.variants:
            sizes = ["--layers", str(layers), "--size", str(args.size), "--batch", str(args.batch)]
            rest = ["--steps", str(steps), "--threads", str(args.threads)] + ["--profile"] * args.profile
            commands.append([sys.executable, __file__, "--worker", variant, *sizes, *rest])
        for command in commands:
            out = run(command, args.threads)
            out["times"] = out["times"][args.warmup :]
            results.setdefault(out["engine"], []).append(out)
            print(f"  {out['engine']}: round done", file=sys.stderr, flush=True)
    return results


def _conv_line(engine: str, rounds: list[dict], rates: dict[str, float] | None) -> str:
    """The convolutions' share of the step and their rate against the matmul rate, least disturbed round."""
    conv = min((r["conv"] for r in rounds), key=lambda c: c["step"])
    rate = conv["flops"] / conv["seconds"] / 1e9
    arithmetic = "bfloat16" if engine.endswith("bf16") else "float32"
    share = conv["seconds"] / conv["step"]
    text = f"{engine}: convolutions {conv['seconds']:.2f} of {conv['step']:.2f} s ({share:.0%})"
    text += f", {rate:.0f} GFLOP/s"
    if rates:
        text += f" = {rate / rates[arithmetic]:.0%} of the {arithmetic} matmul rate ({rates[arithmetic]:.0f})"
    return text


def report(args: argparse.Namespace, layers: int, results: dict[str, list[dict]], rates: dict | None) -> None:
    print(
        f"\nResNet-{layers}, 3x{args.size}x{args.size}, batch {args.batch}, {args.threads} threads, "
        f"{args.rounds} rounds x {args.steps} steps (after {args.warmup} warm-up steps each)"
    )
    columns = f"{'engine':<16}{'img/s':>7}{'best':>7}{'s/step':>8}{'RSS MB':>8}  {'img/s per round':<28}"
    print(columns + f"{'forward':>8}{'backward':>9}{'update':>7}")
    speeds, best = {}, {}
    for engine, rounds in results.items():
        steps = [t for r in rounds for t in r["times"]]
        median = statistics.median(t["step"] for t in steps)
        per_round = [args.batch / statistics.median(t["step"] for t in r["times"]) for r in rounds]
        speeds[engine], best[engine] = args.batch / median, max(per_round)
        rss = max(r["peak_rss_mb"] for r in rounds)
        parts = ""
        if "forward" in steps[0]:
            parts = "".join(f"{statistics.median(t[k] for t in steps):>{w}.3f}" for k, w in
                            (("forward", 8), ("backward", 9), ("update", 7)))  # fmt: skip
        rounds_text = " ".join(f"{speed:.2f}" for speed in per_round)
        print(
            f"{engine:<16}{speeds[engine]:>7.2f}{best[engine]:>7.2f}{median:>8.3f}{rss:>8.0f}  "
            f"{rounds_text:<28}{parts}"
        )
    reference = next((e for e in speeds if e.startswith("mxnet")), None)
    for engine in speeds:
        if reference and engine != reference:
            ratio, best_ratio = speeds[engine] / speeds[reference], best[engine] / best[reference]
            print(f"{engine} / {reference}: {ratio:.2f} (best rounds: {best_ratio:.2f})")
    for engine, rounds in results.items():
        if "conv" in rounds[0]:
            print(_conv_line(engine, rounds, rates))


def machine() -> str:
    import torch

    capabilities = torch.cpu.get_capabilities()
    flags = [name for name in ("avx2", "avx512_f", "avx512_bf16", "amx_bf16") if capabilities.get(name)]
    name = capabilities.get("cpu_name") or platform.processor()
    return f"{name} ({', '.join(flags)}), torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, nargs="+", default=[18, 50])
    parser.add_argument("--size", type=int, default=224, help="image height and width")
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["roost"])
    parser.add_argument("--no-mxnet", action="store_true", help="roost variants only")
    parser.add_argument("--profile", action="store_true", help="convolutions' share and rate vs matmul's")
    parser.add_argument("--worker", choices=(*VARIANTS, "matmul"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "matmul":
        matmul_rates(args.threads)
        return
    if args.worker:
        sizes = (args.layers[0], args.size, args.batch)
        roost_worker(args.worker, *sizes, args.steps, args.threads, args.profile)
        return
    if not args.no_mxnet and not mxnet_python().exists():
        sys.exit(f"no MXNet at {mxnet_python()}: set ROOST_MXNET_PYTHON, or pass --no-mxnet")

    from roost.algorithm.mxnet_format import write_symbol
    from roost.algorithm.network import resnet_spec

    print(machine())
    rates = None
    if args.profile:
        command = [sys.executable, __file__, "--worker", "matmul", "--threads", str(args.threads)]
        rates = run(command, args.threads)
        print("matmul 2048^2: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
    with tempfile.TemporaryDirectory() as folder:
        for layers in args.layers:
            symbol = Path(folder) / f"resnet-{layers}-symbol.json"
            write_symbol(symbol, resnet_spec(layers, NUM_CLASSES, (3, args.size, args.size)))
            print(f"ResNet-{layers}: measuring", file=sys.stderr, flush=True)
            report(args, layers, measure(args, layers, symbol), rates)


if __name__ == "__main__":
    main()
