"""Reconstruction losses on vertex sequences, with padding masks.

Vertices are (B, T, V, 3); ``frame_mask`` (B, T) is True on real frames. Lip vertices are indexed
on the vertex axis (not the flattened V*3 axis, a mistake of the reference code).
"""

from __future__ import annotations

import torch


def _masked_mean(values: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, T, ...) over real frames and the trailing dims."""
    weight = frame_mask.to(values.dtype).reshape(*frame_mask.shape, *([1] * (values.ndim - 2)))
    count = weight.sum() * values[0, 0].numel()
    return (values * weight).sum() / count.clamp(min=1)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean squared vertex error over real frames: pred, target (B, T, V, 3)."""
    return _masked_mean((pred - target) ** 2, frame_mask)


def velocity_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error of frame-to-frame motion, over pairs of real frames."""
    pair_mask = frame_mask[:, 1:] & frame_mask[:, :-1]  # (B, T-1)
    return _masked_mean((pred.diff(dim=1) - target.diff(dim=1)) ** 2, pair_mask)


def lip_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor, lip_ids: torch.Tensor) -> torch.Tensor:
    """Mean squared error on the lip vertices ``lip_ids`` (L,) only."""
    return reconstruction_loss(pred[:, :, lip_ids], target[:, :, lip_ids], frame_mask)


def lip_gap_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor, upper: torch.Tensor,
                 lower: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the lip gap: the mean height (y) of the paired upper-lip vertices
    ``upper`` (P,) above the lower-lip vertices ``lower`` (P,), per frame. It weighs closures
    (a few millimetres, a few frames) that a per-vertex error barely notices."""
    def gap(vertices: torch.Tensor) -> torch.Tensor:
        return (vertices[:, :, upper, 1] - vertices[:, :, lower, 1]).mean(-1)  # (B, T)

    return _masked_mean((gap(pred) - gap(target)) ** 2, frame_mask)
