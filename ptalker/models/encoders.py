"""Content and style encoders over per-frame features (audio or motion).

- :class:`ContentEncoder`: what is said, frame by frame, as a diagonal Gaussian (mu, logvar)
  (B, T, C), from a short temporal convolution stack (a frame sees about 0.2 s around it).
- :class:`StyleEncoder`: how it is said, one vector (B, S) per clip: temporal convolutions, then
  attentive statistics pooling over the real frames (the attention-weighted mean and standard
  deviation, as in speaker embeddings: the mean carries resting offsets such as a smile, the
  deviation the amplitude of motion).
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL = 3


class _TemporalConvs(nn.Module):
    """(B, T, D_in) -> (B, T, D): ``layers`` residual 1-D convolutions over time."""

    def __init__(self, d_in: int, dim: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.inp = nn.Linear(d_in, dim)
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, KERNEL, padding=KERNEL // 2) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, frame_mask: torch.Tensor | None) -> torch.Tensor:
        """Padded frames are zeroed before every convolution, so real frames never read them."""
        keep = 1.0 if frame_mask is None else frame_mask[..., None].to(x.dtype)  # (B, T, 1)
        x = self.inp(x)
        for conv, norm in zip(self.convs, self.norms):
            x = x * keep
            x = norm(x + self.drop(torch.nn.functional.gelu(conv(x.transpose(1, 2)).transpose(1, 2))))
        return x


class ContentEncoder(nn.Module):
    """Features (B, T, D_in) -> content mu, logvar (B, T, C)."""

    def __init__(self, d_in: int, dim: int, layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = _TemporalConvs(d_in, dim, layers, dropout)
        self.mu = nn.Linear(dim, dim)
        self.logvar = nn.Linear(dim, dim)

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(features, frame_mask)
        return self.mu(h), self.logvar(h).clamp(-8.0, 8.0)


class StyleEncoder(nn.Module):
    """Features (B, T, D_in) + frame mask (B, T) -> one style vector (B, S) per clip."""

    def __init__(self, d_in: int, dim: int, layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = _TemporalConvs(d_in, dim, layers, dropout)
        self.score = nn.Linear(dim, 1)
        self.out = nn.Linear(2 * dim, dim)

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(features, frame_mask)  # (B, T, S)
        score = self.score(h).squeeze(-1)  # (B, T)
        if frame_mask is not None:
            score = score.masked_fill(~frame_mask, float("-inf"))
        weights = torch.softmax(score, dim=1)[..., None]  # (B, T, 1)
        mean = (weights * h).sum(dim=1)  # (B, S)
        std = ((weights * (h - mean[:, None]).square()).sum(dim=1) + 1e-5).sqrt()  # (B, S)
        return self.out(torch.cat([mean, std], dim=-1))
