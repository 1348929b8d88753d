"""bfloat16 mixed precision (what precision_dtype=float16 runs on a CPU) learns as float32 does."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_jobs import class_image

from roost.algorithm.network import build_network, initialize
from roost.algorithm.optimizers import build_optimizer


def _learnable_set(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """4 classes of 28 x 28 images, a bright square in a class-specific quadrant (tiny_jobs.class_image)."""
    rng = np.random.default_rng(seed)
    labels = [i % 4 for i in range(count)]
    images = np.stack([class_image(label, rng, size=28) for label in labels])
    pixels = (
        torch.from_numpy(images).permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)
    )
    return pixels, torch.tensor(labels)


def _train_and_score(half: torch.dtype | None) -> float:
    """Validation accuracy after 4 epochs of batch-16 SGD, the same seeds for either arithmetic."""
    train_x, train_y = _learnable_set(64, seed=1)
    val_x, val_y = _learnable_set(32, seed=2)
    model = build_network(20, 4, (3, 28, 28))
    initialize(model, torch.Generator().manual_seed(0))
    model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer("sgd", model.named_parameters(), learning_rate=0.05, momentum=0.9)
    order = torch.Generator().manual_seed(0)
    for _ in range(4):
        for batch in torch.randperm(64, generator=order).split(16):
            with torch.autocast("cpu", dtype=half or torch.bfloat16, enabled=half is not None):
                loss = F.cross_entropy(model(train_x[batch]).float(), train_y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    assert all(p.dtype == torch.float32 for p in model.parameters()), "master weights stay float32"
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=half or torch.bfloat16, enabled=half is not None):
        predicted = model(val_x).float().argmax(1)
    return (predicted == val_y).float().mean().item()


@pytest.mark.skipif(
    not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="this CPU has no native bfloat16"
)
def test_bfloat16_reaches_the_accuracy_of_float32():
    full, half = _train_and_score(None), _train_and_score(torch.bfloat16)
    assert full >= 0.9, f"float32 did not learn the set ({full:.2f}): the test would prove nothing"
    assert abs(half - full) <= 0.1, f"bfloat16 {half:.2f} against float32 {full:.2f}"
