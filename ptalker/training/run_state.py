"""What every training loop shares: the learning-rate schedule, the result it reports, and
resuming from ``OUT/last.pt``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ptalker.pipelines.checkpoint import load_checkpoint, load_state


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then a cosine decay to 0 at ``total``
    (a plain float: checkpoints hold no numpy scalars)."""
    return min(1.0, (step + 1) / max(warmup, 1)) * 0.5 * (1.0 + math.cos(math.pi * min(step / max(total, 1), 1.0)))


@dataclass
class TrainResult:
    """Where the run wrote and how it went."""

    out: Path
    epochs: int
    steps: int
    best_val_lve: float
    seconds: float

    def __str__(self) -> str:
        return (f"trained {self.steps} steps ({self.epochs} epochs) in {self.seconds:.0f} s; best val LVE "
                f"{self.best_val_lve:.3e}; checkpoints in {self.out} (best.pt, last.pt), log train_log.csv")


def resume_state(path: Path, model: torch.nn.Module, optimizer, schedule) -> dict:
    """Load ``path`` into the model/optimizer/schedule if it exists; the run's state dict."""
    state = {"epoch": 0, "step": 0, "best": float("inf"), "seconds": 0.0}
    if not path.is_file():
        return state
    checkpoint = load_checkpoint(path)
    load_state(model, checkpoint)
    saved = checkpoint["extra"]["train_state"]
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    return {key: saved[key] for key in state}
