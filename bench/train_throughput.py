"""Training-step throughput of roost's ResNet + optimiser against MXNet 1.9.1's, side by side, on the CPU.

    python bench/train_throughput.py [--layers 18 50] [--size 224] [--batch 24] [--steps 8] [--warmup 2]
                                     [--rounds 2] [--threads 2] [--variants roost roost-compile ...]

One training step = forward, softmax cross-entropy, backward, SGD update (momentum 0.9, wd 1e-4), on a
fixed random batch of raw 0..255 pixels and labels over 1000 classes. Both engines run the same network:
roost writes its image-classification-symbol.json and MXNet's Module binds that. Every measurement is a
fresh process with `--threads` threads (OMP_NUM_THREADS too); engines alternate for `--rounds` rounds so
that a noisy machine hurts both alike. Reported: images/s from the median step time over all rounds
(warm-up steps excluded), from the best round's median (on a shared machine, the least disturbed
measurement), each round's, and for roost the split of a step into forward, backward and update. The
load average before each round shows whether something else was running.

MXNet's Python: $ROOST_MXNET_PYTHON, else $ROOST_MXNET_VENV/bin/python (default /tmp/roost-mxnet-venv, the
venv the tests build with ../shared/reference/mxnet-venv.sh).

roost variants (`--variants`, default `roost`):
  roost          what the trainer does on a CPU: channels_last, tune_cpu_allocator(), eager
  roost-nchw     without channels_last
  roost-untuned  without tune_cpu_allocator() (glibc unmaps freed activations; page faults every step)
  roost-compile  torch.compile(model) on top of `roost` (compile time not counted)
  roost-bf16     `roost` under torch.autocast("cpu", bfloat16): not what SageMaker computes, for scale
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("roost", "roost-nchw", "roost-untuned", "roost-compile", "roost-bf16")
NUM_CLASSES = 1000  # as MXNET_WORKER's labels

MXNET_WORKER = """
import json, sys, time
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
print(json.dumps({'engine': 'mxnet-' + mx.__version__, 'times': times}))
"""


def roost_worker(variant: str, layers: int, size: int, batch: int, steps: int, threads: int) -> None:
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
    for _ in range(steps):
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
    print(json.dumps({"engine": variant, "times": times}))


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


def measure(args: argparse.Namespace, layers: int, symbol: Path) -> dict[str, list[list[dict]]]:
    """engine -> one list of step timings per round (warm-up steps dropped)."""
    steps = args.warmup + args.steps
    results: dict[str, list[list[dict]]] = {}
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
            rest = ["--steps", str(steps), "--threads", str(args.threads)]
            commands.append([sys.executable, __file__, "--worker", variant, *sizes, *rest])
        for command in commands:
            out = run(command, args.threads)
            results.setdefault(out["engine"], []).append(out["times"][args.warmup :])
            print(f"  {out['engine']}: round done", file=sys.stderr, flush=True)
    return results


def report(args: argparse.Namespace, layers: int, results: dict[str, list[list[dict]]]) -> None:
    print(
        f"\nResNet-{layers}, 3x{args.size}x{args.size}, batch {args.batch}, {args.threads} threads, "
        f"{args.rounds} rounds x {args.steps} steps (after {args.warmup} warm-up steps each)"
    )
    columns = f"{'engine':<16}{'img/s':>7}{'best':>7}{'s/step':>8}  {'img/s per round':<28}"
    print(columns + f"{'forward':>8}{'backward':>9}{'update':>7}")
    speeds, best = {}, {}
    for engine, rounds in results.items():
        steps = [t for r in rounds for t in r]
        median = statistics.median(t["step"] for t in steps)
        per_round = [args.batch / statistics.median(t["step"] for t in r) for r in rounds]
        speeds[engine], best[engine] = args.batch / median, max(per_round)
        parts = ""
        if "forward" in steps[0]:
            parts = "".join(f"{statistics.median(t[k] for t in steps):>{w}.3f}" for k, w in
                            (("forward", 8), ("backward", 9), ("update", 7)))  # fmt: skip
        rounds_text = " ".join(f"{speed:.2f}" for speed in per_round)
        print(
            f"{engine:<16}{speeds[engine]:>7.2f}{best[engine]:>7.2f}{median:>8.3f}  {rounds_text:<28}{parts}"
        )
    reference = next((e for e in speeds if e.startswith("mxnet")), None)
    for engine in speeds:
        if reference and engine != reference:
            ratio, best_ratio = speeds[engine] / speeds[reference], best[engine] / best[reference]
            print(f"{engine} / {reference}: {ratio:.2f} (best rounds: {best_ratio:.2f})")


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
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        roost_worker(args.worker, args.layers[0], args.size, args.batch, args.steps, args.threads)
        return
    if not args.no_mxnet and not mxnet_python().exists():
        sys.exit(f"no MXNet at {mxnet_python()}: set ROOST_MXNET_PYTHON, or pass --no-mxnet")

    from roost.algorithm.mxnet_format import write_symbol
    from roost.algorithm.network import resnet_spec

    with tempfile.TemporaryDirectory() as folder:
        for layers in args.layers:
            symbol = Path(folder) / f"resnet-{layers}-symbol.json"
            write_symbol(symbol, resnet_spec(layers, NUM_CLASSES, (3, args.size, args.size)))
            print(f"ResNet-{layers}: measuring", file=sys.stderr, flush=True)
            report(args, layers, measure(args, layers, symbol))


if __name__ == "__main__":
    main()
