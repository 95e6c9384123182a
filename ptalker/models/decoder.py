"""Temporal alignment: a parallel transformer decoder from audio content and style to motion.

Every frame is decoded at once (no step-by-step loop, so T frames cost one pass):

- self-attention among motion frames carries an ALiBi-style bias, -slope * |i - j| per head, so
  nearby frames matter most (non-causal: a frame sees the sounds around it, as coarticulation
  needs), and frames further than ``window`` apart do not attend at all;
- cross-attention to the audio content carries the alignment mask: frame i attends to audio
  frames i - align .. i + align only (both run at the motion frame rate);
- the style vector is added to every query, and modulates each layer's output (FiLM).

The output is a vertex offset per frame through a low-rank motion basis (D -> K -> V*3), whose
last layer starts at zero so an untrained model predicts the template. The style also scales and
shifts the K basis coefficients directly (after the last norm, which would undo a FiLM scale):
the amplitude of motion and a resting expression are one step from the style vector.
"""

from __future__ import annotations

import torch
from torch import nn


def band_bias(length: int, window: int, slopes: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """Additive attention bias (H or 1, T, T): -slope * |i - j| inside the band |i - j| <= window,
    -inf outside it."""
    position = torch.arange(length, device=device)
    distance = (position[:, None] - position[None]).abs().float()  # (T, T)
    outside = torch.where(distance > window, float("-inf"), 0.0)
    if slopes is None:
        return outside[None]
    return outside[None] - slopes[:, None, None] * distance[None]  # (H, T, T)


def alibi_slopes(heads: int) -> torch.Tensor:
    """(H,) geometric slopes 2^(-8/H), 2^(-16/H), ... (Press et al.)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])


class DecoderLayer(nn.Module):
    """Self-attention, cross-attention to audio, feed-forward; pre-norm; FiLM by style."""

    def __init__(self, dim: int, heads: int, ff: int, style_dim: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.film = nn.Linear(style_dim, 2 * dim)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, audio: torch.Tensor, style: torch.Tensor, self_bias: torch.Tensor,
                cross_bias: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), audio (B, T, D), style (B, S); additive attention biases (B*H, T, T)."""
        h = self.norms[0](x)
        x = x + self.self_attn(h, h, h, attn_mask=self_bias, need_weights=False)[0]
        h = self.norms[1](x)
        x = x + self.cross_attn(h, audio, audio, attn_mask=cross_bias, need_weights=False)[0]
        x = x + self.ff(self.norms[2](x))
        scale, shift = self.film(style).chunk(2, dim=-1)  # (B, D) each
        return x * (1 + scale[:, None]) + shift[:, None]


class MotionDecoder(nn.Module):
    """Audio content (B, T, D) + style (B, S) -> vertex offsets (B, T, V, 3).

    Args:
        dim: D, width of the decoder (and of the audio content it reads).
        style_dim: S, size of the style vector.
        num_vertices: V of the output mesh.
        layers, heads, ff: transformer depth, attention heads, feed-forward width.
        window: frames a motion frame may attend to on either side (self-attention).
        align: audio frames a motion frame may attend to on either side (cross-attention).
        basis: K, rank of the motion basis.
    """

    def __init__(self, dim: int, style_dim: int, num_vertices: int, layers: int = 2, heads: int = 4,
                 ff: int = 256, window: int = 30, align: int = 3, basis: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.heads, self.window, self.align, self.num_vertices = heads, window, align, num_vertices
        self.style_in = nn.Linear(style_dim, dim)
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ff, style_dim, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.to_basis = nn.Linear(dim, basis)
        self.style_out = nn.Linear(style_dim, 2 * basis)  # per-coefficient gain and shift
        nn.init.zeros_(self.style_out.weight)
        nn.init.zeros_(self.style_out.bias)
        self.basis = nn.Linear(basis, num_vertices * 3)
        nn.init.zeros_(self.basis.weight)
        nn.init.zeros_(self.basis.bias)
        self.register_buffer("slopes", alibi_slopes(heads), persistent=False)

    def forward(self, audio: torch.Tensor, style: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Offsets (B, T, V, 3) for audio content (B, T, D) and style (B, S); frame_mask (B, T)."""
        B, T, _ = audio.shape
        padding = self._padding_bias(frame_mask, B, T, audio.device)  # (B, 1, T, T)
        self_bias = band_bias(T, self.window, self.slopes, audio.device)[None] + padding  # (B, H, T, T)
        cross_bias = band_bias(T, self.align, None, audio.device)[None] + padding  # (B, 1, T, T)
        self_bias = self_bias.reshape(B * self.heads, T, T)  # batch-major, as MultiheadAttention wants
        cross_bias = cross_bias.expand(B, self.heads, T, T).reshape(B * self.heads, T, T)
        x = audio + self.style_in(style)[:, None]
        for layer in self.layers:
            x = layer(x, audio, style, self_bias, cross_bias)
        gain, shift = self.style_out(style).chunk(2, dim=-1)  # (B, K) each
        coefficients = self.to_basis(self.norm(x)) * (1 + gain[:, None]) + shift[:, None]  # (B, T, K)
        offsets = self.basis(coefficients)  # (B, T, V*3)
        return offsets.reshape(B, T, self.num_vertices, 3)

    @staticmethod
    def _padding_bias(frame_mask: torch.Tensor | None, B: int, T: int, device: torch.device) -> torch.Tensor:
        """(B, 1, T, T): -inf where key j is padding, except j = i (so no row is empty: padded
        frames attend to themselves, real frames never see padding)."""
        if frame_mask is None:
            return torch.zeros(B, 1, T, T, device=device)
        blocked = ~frame_mask[:, None, :] & ~torch.eye(T, dtype=torch.bool, device=device)[None]  # (B, T, T)
        return torch.where(blocked, float("-inf"), 0.0)[:, None]
