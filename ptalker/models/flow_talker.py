"""The generative talker: a flow-matching sampler of motion on PTalker's audio content.

    speech (+ phones) --PTalker (frozen)--> content (T, C) --PTalker's decoder-->
        prior  = the decoder's motion in the neutral style, basis coefficients (T, K)
        style  = (the decoder's motion in the prompt's style - prior) / residual_scale (T, K)
    condition = [prior, style]  (T, 2K)
    velocity field (residual y at flow time t, prompt frames, condition) --ODE--> y (T, K)
    coefficients = prior + residual_scale * y --motion basis--> offsets (T, V, 3)

The flow generates the *residual* of the motion over the deterministic decoder's neutral-style
motion, whitened: the field does not have to learn lip sync from scratch on a laptop's
training budget, only how a person's motion departs from the average speaker's. It reads that
from two style sources: the prompt (a reference clip's motion and condition put before the new
frames as known frames, MimicTalk's in-context style; the prompt's frames are dropped from the
output) and the style channel (what PTalker's style embedding of the same clip makes of the new
audio). The null style, for guidance, has neither; the null audio has no condition at all.
The content features themselves are not in the condition: they also carry the voice, and with
eight training speakers a field that sees the voice learns who speaks instead of how the
prompt moves (its error on unseen speakers grew while training).
Training (:meth:`FlowTalker.loss`) hides frames by :func:`prompt_masks`, drops the style with
the prompt, and drops the audio condition in ``audio_dropout`` of the clips.

Shape letters: B batch, T frames, S audio samples (16 kHz), P phone classes, V vertices,
K basis size, C content features, S_dim style embedding size.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from ptalker.losses.motion import lip_seal_loss
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
    lip_seal: float = 0.01
    """Weight of the lip-seal term on the predicted clean motion (training; needs the head's
    paired lip-contact vertices): the clean motion the field predicts is a mean over what the
    audio leaves open, and a mean of closures at slightly different times does not close."""
    num_speakers: int = 0
    """Unused (the training loop sets it for every architecture)."""


@dataclass
class FlowPrompt:
    """A reference clip as the in-context prompt."""

    motion: torch.Tensor
    """(T_p, K) basis coefficients of the clip's (head-stabilized) offsets."""
    condition: torch.Tensor
    """(T_p, 2K) the condition of the clip's speech in its own style (:meth:`FlowTalker.condition`)."""
    style: torch.Tensor
    """(S_dim,) PTalker's style embedding of the clip: the style channel of the new frames."""


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
    """A velocity field over motion residuals, conditioned on a frozen PTalker (``content_model``)."""

    architecture = "flow"

    def __init__(self, content: PTalker, config: FlowTalkerConfig, basis: MotionBasis | None = None) -> None:
        super().__init__()
        self.config = config
        self.content_model = content.eval().requires_grad_(False)
        K = config.basis_size
        self.field = VelocityField(dataclasses.replace(config.velocity, motion_dim=K, style_dim=K, audio_dim=2 * K))
        vertex_values = content.num_vertices * 3
        self.register_buffer("basis_mean", torch.zeros(vertex_values))
        self.register_buffer("basis_components", torch.zeros(K, vertex_values))
        self.register_buffer("basis_scale", torch.ones(K))
        self.register_buffer("residual_scale", torch.ones(K))
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
    def content_and_prior(self, audio: torch.Tensor, num_frames: int,
                          phones: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The content (B, T, C) of ``audio`` (B, S) spanning ``num_frames`` frames (``phones``
        (B, T, P) for a content model with a phonetic channel) and the prior (B, T, K): the
        decoder's motion in the neutral style."""
        model = self.content_model
        content = model.audio_codes(audio, num_frames, phones=phones).content_mu  # (B, T, C)
        return content, self.styled_motion(content, model.neutral_style()[None].expand(len(audio), -1))

    @torch.no_grad()
    def styled_motion(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(B, T, K) the decoder's motion of ``content`` (B, T, C) in ``style`` (B, S_dim)."""
        return self.basis.encode(self.content_model.decode(content, style))

    def join_condition(self, prior: torch.Tensor, styled: torch.Tensor | None) -> torch.Tensor:
        """(..., 2K) the condition of the ``prior`` (..., K) and the ``styled`` motion (..., K)
        (None: no style, the style channel is zeros)."""
        channel = torch.zeros_like(prior) if styled is None else (styled - prior) / self.residual_scale
        return torch.cat([prior, channel], dim=-1)

    @torch.no_grad()
    def condition(self, audio: torch.Tensor, num_frames: int, phones: torch.Tensor | None = None,
                  style: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, 2K) the condition of ``audio`` (B, S) spanning ``num_frames`` frames
        (``phones`` (B, T, P) for a content model with a phonetic channel) in ``style`` (B, S_dim)
        (None: the style channel is zeros): see the module docstring."""
        content, prior = self.content_and_prior(audio, num_frames, phones)
        return self.join_condition(prior, None if style is None else self.styled_motion(content, style))

    def prior(self, condition: torch.Tensor) -> torch.Tensor:
        """(..., K) the neutral-style decoder motion inside ``condition`` (..., 2K)."""
        return condition[..., :self.config.basis_size]

    def to_residual(self, motion: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """(..., K) the whitened residual y of ``motion`` (..., K) over the prior of ``condition``."""
        return (motion - self.prior(condition)) / self.residual_scale

    def from_residual(self, residual: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """(..., K) motion coefficients of the residual ``residual`` (..., K) under ``condition``."""
        return self.prior(condition) + residual * self.residual_scale

    def loss(self, motion: torch.Tensor, condition: torch.Tensor, frame_mask: torch.Tensor,
             generator: torch.Generator, templates: torch.Tensor | None = None,
             lip_pairs: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """The loss of one batch: ``motion`` (B, T, K) basis coefficients under the ``condition``
        (B, T, 2K) (style channel included), real frames ``frame_mask`` (B, T). Clips without
        prompt frames lose the style channel too; ``audio_dropout`` of the clips lose the whole
        condition. The flow-matching loss, plus ``config.lip_seal`` times the lip-seal term
        (:func:`ptalker.losses.motion.lip_seal_loss`, in mm) of the predicted clean motion on
        the frames to generate when ``templates`` (B, V, 3) and ``lip_pairs`` (upper, lower
        vertex ids) are given."""
        known = prompt_masks(frame_mask, self.config.prompts, generator)
        residual = self.to_residual(motion, condition)
        K = self.config.basis_size
        styled = known.any(dim=1).to(condition)[:, None, None]  # (B, 1, 1)
        given = torch.cat([condition[..., :-K], condition[..., -K:] * styled], dim=-1)
        drop = torch.rand(len(condition), generator=generator) < self.config.audio_dropout  # (B,) null audio rows
        given = given * (~drop).to(condition)[:, None, None]
        loss, clean = flow_matching_loss(self.field, residual, given, known, frame_mask, generator)
        if templates is None or lip_pairs is None or not self.config.lip_seal:
            return loss
        upper, lower = lip_pairs
        ids = torch.cat([upper, lower])
        pair = (torch.arange(len(upper)), torch.arange(len(upper), len(ids)))

        def lips(coefficients: torch.Tensor) -> torch.Tensor:  # (B, T, U + L, 3) vertices, in mm
            return 1000.0 * (templates[:, None, ids] + self.basis.decode(coefficients, ids))

        scored = frame_mask & ~known & ~drop[:, None]  # generated frames that heard the audio
        seal = lip_seal_loss(lips(self.from_residual(clean, condition)), lips(motion), scored, *pair, closed=1.0)
        return loss + self.config.lip_seal * seal
