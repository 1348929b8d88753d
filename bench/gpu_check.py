"""The GPU paths' checks that bench/gpu_check.sh runs one by one (each exits non-zero when it fails).

    python bench/gpu_check.py amp [--cpu-dry-run]            float16 autocast + GradScaler vs float32
    python bench/gpu_check.py channels-last [--cpu-dry-run]  channels-last + cuDNN autotuning vs NCHW
    python bench/gpu_check.py predictor MODEL [--cpu-dry-run]  the predictor on the GPU vs on the CPU
    python bench/gpu_check.py job JOB_DIR [--workshop]       a job directory for `roost algorithm train`

`--cpu-dry-run` runs the same code on the CPU with a tiny network, to check the script itself where no
GPU is lent: its timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "algorithm"))


def _device(dry: bool) -> torch.device:
    if dry:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        sys.exit("no GPU visible to PyTorch: run with --cpu-dry-run to check the script on the CPU")
    return torch.device("cuda")


def _sizes(dry: bool) -> tuple[int, int, int]:
    """(num_layers, image side, batch): ResNet-50 at 224 on a GPU, a tiny ResNet on the CPU."""
    return (20, 28, 8) if dry else (50, 224, 64)


def _network(layers: int, side: int, device: torch.device, channels_last: bool) -> torch.nn.Module:
    from roost.algorithm.network import build_network, initialize

    model = build_network(layers, 10, (3, side, side))
    initialize(model, torch.Generator().manual_seed(0))
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return model.to(device, memory_format=layout)


def _batch(side: int, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(batch, 3, side, side, generator=generator) * 255
    return images.to(device), torch.randint(0, 10, (batch,), generator=generator).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _curve(device: torch.device, dry: bool, half: bool, steps: int) -> list[float]:
    from roost.algorithm.optimizers import build_optimizer

    layers, side, batch = _sizes(dry)
    model = _network(layers, side, device, channels_last=True)
    images, labels = _batch(side, batch, device)
    optimizer = build_optimizer("sgd", model.named_parameters(), learning_rate=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=half)
    losses = []
    for _ in range(steps):
        with torch.autocast(device.type, dtype=torch.float16, enabled=half):
            loss = F.cross_entropy(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    return losses


def check_amp(dry: bool) -> None:
    """On one fixed batch the float16 (autocast + GradScaler) loss curve follows float32's."""
    device, steps = _device(dry), 12 if dry else 40
    full, half = _curve(device, dry, False, steps), _curve(device, dry, True, steps)
    print("step  float32  float16")
    for i, (a, b) in enumerate(zip(full, half, strict=True)):
        print(f"{i:4d} {a:8.4f} {b:8.4f}")
    gap = max(abs(a - b) for a, b in zip(full, half, strict=True))
    print(f"largest gap {gap:.4f}; first loss {full[0]:.4f}; last {full[-1]:.4f} / {half[-1]:.4f}")
    # Rounding makes the curves part slowly; they must agree at the start and both learn the batch.
    assert abs(full[0] - half[0]) < 0.02 * full[0], "the first losses differ: float16 forward is wrong"
    assert gap < 0.25 * full[0], "the float16 curve left the float32 one"
    assert half[-1] < 0.5 * half[0] and full[-1] < 0.5 * full[0], "a curve did not learn the fixed batch"


def _steps_per_second(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int
) -> float:
    device = images.device
    times = []
    for _ in range(steps + 3):
        _sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            loss = F.cross_entropy(model(images).float(), labels)
        loss.backward()
        _sync(device)
        times.append(time.perf_counter() - start)
    return len(images) / statistics.median(times[3:])


def check_channels_last(dry: bool) -> None:
    """channels-last with cuDNN autotuning gives NCHW's outputs and gradients, and its speed is shown."""
    device = _device(dry)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False  # the layouts are compared in float32, not TF32
    layers, side, batch = _sizes(dry)
    images, labels = _batch(side, batch, device)
    results = {}
    for layout in ("nchw", "channels_last"):
        model = _network(layers, side, device, channels_last=layout == "channels_last")
        model.eval()  # fixed statistics: the two layouts see the same arithmetic
        inputs = images.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else images
        logits = model(inputs)
        F.cross_entropy(logits, labels).backward()
        results[layout] = (logits.detach().float(), model.conv0.weight.grad.float())
        rate = _steps_per_second(model, inputs, labels, 3 if dry else 20)
        print(f"{layout:>14}: {rate:8.1f} images/s (forward + backward, float16 autocast on a GPU)")
    (logits_a, grad_a), (logits_b, grad_b) = results.values()
    assert torch.allclose(logits_a, logits_b, rtol=1e-3, atol=1e-3), "channels-last logits differ"
    assert torch.allclose(grad_a, grad_b, rtol=1e-2, atol=1e-3 * grad_a.abs().max().item()), (
        "gradients differ"
    )


def check_predictor(model: Path, dry: bool) -> None:
    """The predictor answers the same on the GPU as on the CPU, and how fast at batch 16."""
    import numpy as np

    from roost.inference.predictor import Predictor

    device = _device(dry)
    on_device = Predictor.load(model, device=device)
    on_cpu = Predictor.load(model, device=torch.device("cpu"))
    print(on_device.description)
    _, height, width = on_device.image_shape
    images = np.random.default_rng(0).integers(0, 256, (16, height, width, 3), dtype=np.uint8)
    a, b = on_device.predict(images), on_cpu.predict(images)
    print(f"largest probability difference GPU vs CPU: {np.abs(a - b).max():.2e}")
    assert np.allclose(a, b, atol=2e-3), "the GPU's predictions differ from the CPU's"
    times = []
    for _ in range(10):
        start = time.perf_counter()
        on_device.predict(images)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"batch of 16: {median * 1000:.1f} ms ({16 / median:.0f} images/s)")


def write_job(folder: Path, dry: bool) -> None:
    """A small learnable job (tests/algorithm/tiny_jobs.py's images) for the DDP run over every GPU."""
    from tiny_jobs import make_job

    layers, side = (20, 28) if dry else (50, 112)
    hp = {
        "num_layers": str(layers),
        "image_shape": f"3,{side},{side}",
        "num_classes": "4",
        "num_training_samples": "96",
        "mini_batch_size": "16",
        "epochs": "2",
        "learning_rate": "0.05",
        "precision_dtype": "float16",
    }
    make_job(folder, hp, train=[i % 4 for i in range(96)], validation=[i % 4 for i in range(32)])
    print(json.dumps(hp))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("check", choices=("amp", "channels-last", "predictor", "job"))
    parser.add_argument("path", nargs="?", type=Path, help="the model (predictor) or job folder (job)")
    parser.add_argument("--cpu-dry-run", action="store_true", help="tiny sizes on the CPU")
    args = parser.parse_args()
    if args.check == "amp":
        check_amp(args.cpu_dry_run)
    elif args.check == "channels-last":
        check_channels_last(args.cpu_dry_run)
    elif args.check == "predictor":
        check_predictor(args.path, args.cpu_dry_run)
    else:
        write_job(args.path, args.cpu_dry_run)


if __name__ == "__main__":
    main()
