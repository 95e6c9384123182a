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


def _lip_gap(vertices: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """(B, T) mean height (y) of the paired upper-lip vertices ``upper`` (P,) above the lower-lip
    vertices ``lower`` (P,) of vertices (B, T, V, 3)."""
    return (vertices[:, :, upper, 1] - vertices[:, :, lower, 1]).mean(-1)


def lip_gap_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor, upper: torch.Tensor,
                 lower: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the lip gap (:func:`_lip_gap`) per frame. It weighs closures (a few
    millimetres, a few frames) that a per-vertex error barely notices."""
    return _masked_mean((_lip_gap(pred, upper, lower) - _lip_gap(target, upper, lower)) ** 2, frame_mask)


def lip_seal_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor, upper: torch.Tensor,
                  lower: torch.Tensor, closed: float) -> torch.Tensor:
    """Mean over the target's closed frames (lip gap below ``closed``) of the squared amount by which
    the predicted gap stays open beyond the target's: pred, target are whole vertices (B, T, V, 3),
    not offsets, since closure is absolute. Closed frames are a few per cent of speech, so a mean
    over all frames (:func:`lip_gap_loss`) lets a model that stops 2 mm short of every seal off
    lightly; this term does not. Zero when the target never closes."""
    target_gap = _lip_gap(target, upper, lower)  # (B, T)
    shut = frame_mask & (target_gap < closed)
    excess = torch.relu(_lip_gap(pred, upper, lower) - target_gap) ** 2
    return (excess * shut.to(excess.dtype)).sum() / shut.sum().clamp(min=1)
