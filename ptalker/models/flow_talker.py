"""The generative talker: a flow-matching sampler of motion on PTalker's audio content.

    speech (+ phones) --PTalker (frozen)--> content (T, C) and the decoder's motion in the
                                            neutral style, as basis coefficients (T, K)
    condition = [content, prior]  (T, C + K)
    velocity field (coefficients at flow time t, prompt frames, condition) --ODE--> coefficients (T, K)
    coefficients --motion basis--> offsets (T, V, 3)

The deterministic decoder's neutral-style motion (the *prior*) is part of the audio condition:
the field does not have to learn lip sync from scratch on a laptop's training budget, only how
a person's motion departs from the average speaker's, which it reads from the prompt. A
reference clip is an in-context prompt: its condition is put before the new audio's and its
motion coefficients are given as known frames; the new frames are infilled and the prompt's
dropped from the output (:mod:`ptalker.pipelines.flow_sampling`). Training
(:meth:`FlowTalker.loss`) hides frames by :func:`prompt_masks`, and drops the audio condition
(``audio_dropout``) and the prompt (a share of the masks has no known frame) so that guidance
has its null conditions.

Shape letters: B batch, T frames, S audio samples (16 kHz), P phone classes, V vertices,
K basis size, C content features.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from ptalker.models.flow import FlowConfig, VelocityField, flow_matching_loss
from ptalker.models.motion_basis import MotionBasis
from ptalker.models.ptalker import PTalker


@dataclass
class PromptShares:
    """How training picks the known (prompt) frames of a clip; the shares sum to at most 1, the
    rest of the clips get a prefix prompt as inference does."""

    none: float = 0.1
    """No known frame: trains the null style."""
    span: float = 0.25
    """All known but one contiguous span (infilling)."""
    scattered: float = 0.15
    """Each frame known with probability 1/2."""


@dataclass
class FlowTalkerConfig:
    """The ``flow`` section of a training config (architecture ``flow``)."""

    velocity: FlowConfig = field(default_factory=FlowConfig)
    """The velocity field's sizes; its motion_dim and audio_dim follow from basis_size and the
    content model."""
    basis_size: int = 48
    """K: motion basis components (fitted on the training frames)."""
    audio_dropout: float = 0.1
    """Share of training clips with the audio condition zeroed (the null audio of guidance)."""
    prompts: PromptShares = field(default_factory=PromptShares)
    prompt_frames: int = 90
    """Frames of a reference clip used as the prompt at inference (its start)."""
    num_speakers: int = 0
    """Unused (the training loop sets it for every architecture)."""


@dataclass
class FlowPrompt:
    """A reference clip as the in-context prompt: its motion and audio condition."""

    motion: torch.Tensor
    """(T_p, K) basis coefficients of the clip's (head-stabilized) offsets."""
    condition: torch.Tensor
    """(T_p, C + K) the audio condition of the clip's speech (:meth:`FlowTalker.condition`)."""


def prompt_masks(frame_mask: torch.Tensor, shares: PromptShares, generator: torch.Generator) -> torch.Tensor:
    """(B, T) bool known frames for clips with ``frame_mask`` (B, T) real frames: per clip no
    prompt, a hidden span, scattered frames, or a prefix of 20-60% of its frames (see
    :class:`PromptShares`). At least one real frame of a clip with a prompt is left to generate."""
    B, T = frame_mask.shape
    known = torch.zeros(B, T, dtype=torch.bool)
    lengths = frame_mask.sum(dim=1).tolist()
    for row, length in enumerate(lengths):
        if length < 2:
            continue
        kind = torch.rand((), generator=generator).item()
        if kind < shares.none:
            continue
        if kind < shares.none + shares.span:
            width = max(1, int(length * (0.2 + 0.5 * torch.rand((), generator=generator).item())))
            start = int(torch.randint(0, length - width + 1, (), generator=generator))
            known[row, :length] = True
            known[row, start:start + width] = False
        elif kind < shares.none + shares.span + shares.scattered:
            known[row, :length] = torch.rand(length, generator=generator) < 0.5
            known[row, int(torch.randint(0, length, (), generator=generator))] = False
        else:
            known[row, :max(1, int(length * (0.2 + 0.4 * torch.rand((), generator=generator).item())))] = True
    return known.to(frame_mask.device)


class FlowTalker(nn.Module):
    """A velocity field over a motion basis, conditioned on a frozen PTalker (``content_model``)."""

    architecture = "flow"

    def __init__(self, content: PTalker, config: FlowTalkerConfig, basis: MotionBasis | None = None) -> None:
        super().__init__()
        self.config = config
        self.content_model = content.eval().requires_grad_(False)
        K = config.basis_size
        self.field = VelocityField(dataclasses.replace(config.velocity, motion_dim=K,
                                                       audio_dim=content.config.content_dim + K))
        vertex_values = content.num_vertices * 3
        self.register_buffer("basis_mean", torch.zeros(vertex_values))
        self.register_buffer("basis_components", torch.zeros(K, vertex_values))
        self.register_buffer("basis_scale", torch.ones(K))
        if basis is not None:
            self.set_basis(basis)

    def train(self, mode: bool = True) -> "FlowTalker":
        super().train(mode)
        self.content_model.eval()  # frozen: never in training mode (no dropout, no phone dropout)
        return self

    def set_basis(self, basis: MotionBasis) -> None:
        for name, value in basis.state().items():
            getattr(self, f"basis_{name}").copy_(value)

    @property
    def basis(self) -> MotionBasis:
        return MotionBasis(self.basis_mean, self.basis_components, self.basis_scale)

    @torch.no_grad()
    def condition(self, audio: torch.Tensor, num_frames: int, phones: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, C + K) the audio condition of ``audio`` (B, S) spanning ``num_frames`` frames
        (``phones`` (B, T, P) for a content model with a phonetic channel): the content features
        and the content model's neutral-style motion in basis coefficients."""
        model = self.content_model
        content = model.audio_codes(audio, num_frames, phones=phones).content_mu  # (B, T, C)
        neutral = model.neutral_style()[None].expand(len(audio), -1)  # (B, S_dim)
        prior = self.basis.encode(model.decode(content, neutral))  # (B, T, K)
        return torch.cat([content, prior], dim=-1)

    def loss(self, motion: torch.Tensor, condition: torch.Tensor, frame_mask: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
        """The flow-matching loss of one batch: ``motion`` (B, T, K) basis coefficients under the
        audio ``condition`` (B, T, C + K), real frames ``frame_mask`` (B, T)."""
        drop = torch.rand(len(condition), generator=generator) < self.config.audio_dropout  # (B,) null audio rows
        condition = condition * (~drop).to(condition)[:, None, None]
        known = prompt_masks(frame_mask, self.config.prompts, generator)
        return flow_matching_loss(self.field, motion, condition, known, frame_mask, generator)
