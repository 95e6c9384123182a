"""BlinkNet: where in the speech blinks fall, learned from the whole-face corpus.

Input: per-frame speech features (B, T, F) (:mod:`ptalker.controls.speech_features`); dilated
temporal convolutions -> a shut-lid logit per frame (B, T): where blinks fall (at phrase
boundaries, as the corpus's people blink), not how many (that is the user's rate).

Two more branches were trained beside it (on the same features, with a decorrelation loss
between the emotion latent and the lip model's content code) and dropped, each no better than
the simple rule it would replace: head pitch from speech correlated -0.02 with the test
speakers' true pitch, against 0.24 for the loudness-peak nods of
:mod:`ptalker.controls.procedural` (the corpus's head motion is mostly random sway); emotion from
the speech reached 33% / 44% (val / test) against 46% / 44% for the prosody classifier of
:mod:`ptalker.controls.voice_emotion`.

Trained by :mod:`ptalker.training.blinks`; measured by benchmarks/blinks.py.
"""

from __future__ import annotations

import torch
from torch import nn

from ptalker.errors import PtalkerError


class TemporalBranch(nn.Module):
    """(B, T, F) -> (B, T, D): a 1x1 projection then dilated 1D convolutions with residuals."""

    def __init__(self, features: int, width: int, dilations: tuple[int, ...] = (1, 2, 4, 8)) -> None:
        super().__init__()
        self.inp = nn.Conv1d(features, width, 1)
        self.layers = nn.ModuleList(nn.Conv1d(width, width, 5, padding=2 * d, dilation=d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.transpose(1, 2))  # (B, D, T)
        for layer in self.layers:
            h = h + torch.relu(layer(h))
        return h.transpose(1, 2)


class BlinkNet(nn.Module):
    """See module doc. ``features``: F; ``width``: D."""

    def __init__(self, features: int, width: int = 32) -> None:
        super().__init__()
        self.config = {"features": features, "width": width}
        self.branch = TemporalBranch(features, width)
        self.out = nn.Linear(width, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T) shut-lid logits of ``features`` (B, T, F)."""
        if features.ndim != 3 or features.shape[-1] != self.config["features"]:
            raise PtalkerError(f"blink model: expected features (B, T, {self.config['features']}), "
                               f"got {tuple(features.shape)}")
        return self.out(self.branch(features))[..., 0]
