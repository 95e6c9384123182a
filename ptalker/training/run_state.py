"""What every training loop shares: the learning-rate schedule, the result it reports, and
resuming from ``OUT/last.pt``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
    stopped_early: bool = False
    """True when ``patience`` validations in a row did not improve on the best val LVE."""

    def __str__(self) -> str:
        early = " (stopped early: val LVE stopped improving)" if self.stopped_early else ""
        return (f"trained {self.steps} steps ({self.epochs} epochs){early} in {self.seconds:.0f} s; best val LVE "
                f"{self.best_val_lve:.3e}; checkpoints in {self.out} (best.pt, last.pt), log train_log.csv")


def record_validation(state: dict, val_lve: float) -> bool:
    """Note one validation's ``val_lve`` in a run's ``state``; True when it is the best so far (or
    there is no val split: NaN, the last is best). ``state['stale']`` counts the validations since
    the best."""
    improved = val_lve < state["best"] or not np.isfinite(state["best"])
    if improved:
        state["best"] = val_lve
    state["stale"] = 0 if improved else state["stale"] + 1
    return improved


def patience_spent(state: dict, patience: int) -> bool:
    """True when early stopping ends the run: ``patience`` > 0 validations in a row without a new best."""
    return patience > 0 and state["stale"] >= patience


def resume_state(path: Path, model: torch.nn.Module, optimizer, schedule) -> dict:
    """Load ``path`` into the model/optimizer/schedule if it exists; the run's state dict."""
    state = {"epoch": 0, "step": 0, "best": float("inf"), "seconds": 0.0, "stale": 0}
    if not path.is_file():
        return state
    checkpoint = load_checkpoint(path)
    load_state(model, checkpoint)
    saved = checkpoint["extra"]["train_state"]
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    return {key: saved.get(key, default) for key, default in state.items()}  # 'stale': absent before patience
