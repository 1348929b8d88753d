"""Resumable training state in `checkpoints/`: written atomically after every epoch, read at start.

A job that crashed, or was stopped, and runs again in the same job directory carries on from the
epoch after the last one finished. State from a job with other hyperparameters is refused, since
continuing it would silently train something else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from roost.algorithm.hyperparameters import Hyperparameters
from roost.atomic_file import write_atomically
from roost.errors import UserError

STATE_FILE = "training-state.pt"
# Changing these does not change what is being trained, only how long or how it is reported.
_FREE_TO_CHANGE = {
    "epochs",
    "checkpoint_frequency",
    "early_stopping",
    "early_stopping_min_epochs",
    "early_stopping_patience",
    "early_stopping_tolerance",
    "top_k",
}


@dataclass
class State:
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scaler: dict[str, Any] | None
    progress: dict[str, Any]


def _fingerprint(hp: Hyperparameters) -> str:
    fixed = {k: v for k, v in hp.model_dump().items() if k not in _FREE_TO_CHANGE}
    return hashlib.sha256(json.dumps(fixed, sort_keys=True, default=str).encode()).hexdigest()


def save(
    folder: Path,
    hp: Hyperparameters,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    progress: dict[str, Any],
) -> None:
    state = {
        "fingerprint": _fingerprint(hp),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "progress": progress,
    }
    write_atomically(folder / STATE_FILE, lambda out: torch.save(state, out))


def load(folder: Path, hp: Hyperparameters) -> State | None:
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file means the same to the user
        raise UserError(
            f"ClientError: the training state {path} cannot be read ({error}); delete it to start afresh"
        ) from None
    if saved.get("fingerprint") != _fingerprint(hp):
        raise UserError(
            f"ClientError: {path} holds the state of a job with different hyperparameters; resume with the "
            "same ones, or delete the checkpoints folder to start afresh"
        )
    return State(saved["model"], saved["optimizer"], saved["scaler"], saved["progress"])
