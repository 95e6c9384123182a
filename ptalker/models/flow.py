"""Conditional flow matching over motion sequences with an in-context prompt (MimicTalk-style).

Motion is a sequence x (B, T, D) of per-frame motion coefficients. A straight path joins noise
x0 ~ N(0, I) (t = 0) to data x1 (t = 1): x_t = (1 - t) x0 + t x1, whose velocity is x1 - x0. The
network :class:`VelocityField` predicts the clean motion x1 for every frame, and its velocity is
v = (x1_hat - x_t) / (1 - t). The prediction is preconditioned as in EDM (Karras et al. 2022,
for data of unit variance, which the whitened residuals are): x1_hat = c_skip(t) x_t +
c_out(t) F, with c_skip = t / D^2, c_out = (1 - t) / D, D^2 = t^2 + (1 - t)^2, so that the
network F outputs the clean motion itself where x_t is noise (speech nearly determines the
motion: an easy target) and only a small correction where x_t is nearly clean, and its target
has unit variance at every t. It reads

- x_t itself, where the frames to generate are noisy and the prompt frames (a reference clip's
  motion, or frames kept from an existing animation) are given clean, with a 0/1 channel that
  says which is which (in-context infilling: the prompt carries the style);
- the audio content features (B, T, C) of the whole sequence (prompt and new frames);
- the flow time t (B,), by a sinusoidal embedding added to every frame.

Training (:func:`flow_matching_loss`) draws t, forms x_t on the masked frames only, and scores
the predicted clean motion there. Condition dropout (zeroed audio, an empty prompt) teaches the null
conditions that classifier-free guidance needs (:mod:`ptalker.pipelines.flow_sampling`).

Shape letters: B batch, T frames, D motion coefficients, C audio content features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ptalker.models.decoder import alibi_slopes, band_bias


@dataclass
class FlowConfig:
    """Sizes of the velocity field."""

    motion_dim: int = 48
    """D: motion coefficients per frame."""
    audio_dim: int = 96
    """C: condition features per frame (the audio's, then the style channel's)."""
    style_dim: int = 0
    """The last style_dim condition features are the style channel: zeroed, with the prompt,
    for the null style (:mod:`ptalker.pipelines.flow_sampling`)."""
    dim: int = 128
    layers: int = 4
    heads: int = 4
    ff: int = 256
    window: int = 60
    """Frames a frame attends to on either side."""
    dropout: float = 0.1


MAX_TIME_FREQUENCY = 16.0
"""The time embedding's fastest wave has this many periods over t in [0, 1]: fast enough to tell
nearby times apart, slow enough that an ODE solver with a few steps follows the field."""


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, dim) sinusoidal embedding of flow times t (B,) in [0, 1]: frequencies from 1 to
    MAX_TIME_FREQUENCY periods, spaced geometrically."""
    half = dim // 2
    periods = torch.exp(math.log(MAX_TIME_FREQUENCY) * torch.arange(half, device=t.device) / max(half - 1, 1))
    angles = 2.0 * math.pi * t[:, None] * periods[None]  # (B, dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Block(nn.Module):
    """A pre-norm transformer layer with its projections as named linear layers (q, k, v, o,
    ff_in, ff_out), which per-person LoRA adapters (:mod:`ptalker.training.adapt`) target."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm_attn, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.ff_in, self.ff_out = nn.Linear(dim, ff), nn.Linear(ff, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(B, T, dim) -> (B, T, dim); ``bias`` (H, T, T) is added to the attention logits."""
        B, T, dim = h.shape
        x = self.norm_attn(h)
        q, k, v = (proj(x).view(B, T, self.heads, dim // self.heads).transpose(1, 2) for proj in (self.q, self.k, self.v))
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias[None].to(q.dtype))  # no attention dropout:
        # on the CPU it costs a quarter of a training step
        h = h + self.dropout(self.o(attended.transpose(1, 2).reshape(B, T, dim)))
        return h + self.dropout(self.ff_out(self.dropout(F.gelu(self.ff_in(self.norm_ff(h))))))


MIN_REMAINING_TIME = 1e-4
"""1 - t is clamped to this when a clean-motion prediction is turned into a velocity."""


def preconditioning(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out), each (B, 1, 1), of flow times ``t`` (B,) (see the module docstring)."""
    t = t[:, None, None]
    squared = t.square() + (1 - t).square()
    return t / squared, (1 - t) / squared.sqrt()


class VelocityField(nn.Module):
    """v(x_t, t | audio, prompt): (B, T, D) velocities, from a prediction of the clean motion."""

    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.inp = nn.Linear(2 * c.motion_dim + 1 + c.audio_dim, c.dim)  # [x_t, prompt, known, audio]
        self.time = nn.Sequential(nn.Linear(c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.dim))
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.ff, c.dropout) for _ in range(c.layers))
        self.out = nn.Sequential(nn.LayerNorm(c.dim), nn.Linear(c.dim, c.motion_dim))
        self.register_buffer("slopes", alibi_slopes(c.heads), persistent=False)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, audio: torch.Tensor, prompt: torch.Tensor,
                known: torch.Tensor) -> torch.Tensor:
        """Velocities (B, T, D): (x1_hat - x_t) / (1 - t) of :meth:`predict_clean`'s x1_hat."""
        remaining = (1 - t).clamp(min=MIN_REMAINING_TIME)[:, None, None]
        return (self.predict_clean(x_t, t, audio, prompt, known) - x_t) / remaining

    def predict_clean(self, x_t: torch.Tensor, t: torch.Tensor, audio: torch.Tensor, prompt: torch.Tensor,
                      known: torch.Tensor) -> torch.Tensor:
        """The clean motion x1_hat (B, T, D).

        Args:
            x_t: (B, T, D) the state at flow time ``t`` (B,) (prompt frames included; ignored there).
            audio: (B, T, C) audio condition, zeros for the null audio condition.
            prompt: (B, T, D) clean motion on the known frames, zeros elsewhere.
            known: (B, T) bool, True on prompt frames (all False: the null style condition).
        """
        T = x_t.shape[1]
        flag = known[..., None].to(x_t.dtype)  # (B, T, 1)
        h = self.inp(torch.cat([x_t * (1 - flag), prompt * flag, flag, audio], dim=-1))  # (B, T, dim)
        h = h + self.time(time_embedding(t, self.config.dim))[:, None]
        bias = band_bias(T, self.config.window, self.slopes, x_t.device)  # (H, T, T)
        for block in self.blocks:
            h = block(h, bias)
        skip, out = preconditioning(t)
        return skip * x_t + out * self.out(h)


def flow_matching_loss(field: VelocityField, x1: torch.Tensor, audio: torch.Tensor, known: torch.Tensor,
                       frame_mask: torch.Tensor,
                       generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error of the network's output against its target, (x1 - c_skip x_t) / c_out
    (the clean motion's error divided by c_out: unit scale at every t), on the frames to generate
    (~known & frame_mask); and the predicted clean motion (B, T, D), for losses on it.

    Args:
        x1: (B, T, D) clean motion; its known frames are the prompt.
        audio: (B, T, C) content features (zero them in a batch row to train the null audio).
        known: (B, T) bool prompt frames (all False in a row trains the null style).
        frame_mask: (B, T) bool real (not padded) frames.
    """
    noise = torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype)
    t = torch.rand(len(x1), generator=generator, device=x1.device, dtype=x1.dtype)  # (B,)
    x_t = (1 - t[:, None, None]) * noise + t[:, None, None] * x1
    prompt = x1 * known[..., None].to(x1.dtype)
    clean = field.predict_clean(x_t, t, audio, prompt, known)
    target = (~known & frame_mask)[..., None].to(x1.dtype)  # (B, T, 1)
    error = ((clean - x1) / preconditioning(t)[1]).square() * target
    return error.sum() / (target.sum() * x1.shape[-1]).clamp(min=1), clean
