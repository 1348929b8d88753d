"""Accuracy as SageMaker logs it: cumulative over the epoch; top-k; element-wise for multi-label.

Counts stay on the device and are only read at log lines, so the GPU is never stalled per batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


class Accuracy:
    """Running counts of correct predictions (and top-k hits) over samples (or label elements)."""

    def __init__(self, device: torch.device, top_k: int | None = None, multi_label: bool = False) -> None:
        self.top_k = None if multi_label else top_k
        self.multi_label = multi_label
        # correct, top-k correct, number counted
        self.counts = torch.zeros(3, dtype=torch.float64, device=device)

    def reset(self) -> None:
        self.counts.zero_()

    @torch.no_grad()
    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        if self.multi_label:
            hits = ((logits > 0) == (labels > 0.5)).sum()
            self.counts += torch.stack([hits, hits, torch.tensor(labels.numel(), device=hits.device)])
            return
        target = labels.long()
        correct = (logits.argmax(dim=1) == target).sum()
        if self.top_k:
            top = logits.topk(min(self.top_k, logits.shape[1]), dim=1).indices
            top_correct = (top == target[:, None]).any(dim=1).sum()
        else:
            top_correct = correct
        self.counts += torch.stack([correct, top_correct, torch.tensor(len(target), device=correct.device)])

    def values(self, across_ranks: bool = False) -> tuple[float, float]:
        """(accuracy, top-k accuracy); with `across_ranks`, summed over all processes first."""
        counts = self.counts.clone()
        if across_ranks and dist.is_initialized():
            dist.all_reduce(counts)
        correct, top_correct, total = counts.tolist()
        if total == 0:
            return 0.0, 0.0
        return correct / total, top_correct / total
