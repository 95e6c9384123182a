"""The generative talker: a flow-matching sampler of motion on PTalker's audio content.

    speech (+ phones) --PTalker's audio content (frozen)--> content (B, T, C)
    motion offsets --motion basis--> coefficients (B, T, K)
    velocity field (coefficients at flow time t, prompt frames, content) --ODE--> coefficients

A reference clip is an in-context prompt: its audio is put before the new audio and its motion
coefficients are given as known frames; the new frames are infilled and the prompt's are
dropped from the output (:func:`ptalker.pipelines.flow_sampling.generate_offsets`). Training (:meth:`FlowTalker.loss`) hides frames by
:func:`prompt_masks`, and drops the audio (``audio_dropout``) and the prompt (a share of the
masks has no known frame) so guidance has its null conditions.

Shape letters: B batch, T frames, S audio samples (16 kHz), P phone classes, V vertices,
K basis size, C content features.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """A velocity field over a motion basis, conditioned on a frozen PTalker's audio content."""

    def __init__(self, content: PTalker, basis: MotionBasis, config: FlowConfig, audio_dropout: float = 0.1,
                 shares: PromptShares | None = None) -> None:
        super().__init__()
        self.content_model = content.eval().requires_grad_(False)
        self.field = VelocityField(config)
        self.audio_dropout = audio_dropout
        self.shares = shares or PromptShares()
        for name, value in basis.state().items():
            self.register_buffer(f"basis_{name}", value.clone())

    @property
    def basis(self) -> MotionBasis:
        return MotionBasis(self.basis_mean, self.basis_components, self.basis_scale)

    @torch.no_grad()
    def content(self, audio: torch.Tensor, num_frames: int, audio_mask: torch.Tensor | None = None,
                phones: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, C) audio content of ``audio`` (B, S) spanning ``num_frames`` frames."""
        return self.content_model.audio_codes(audio, num_frames, audio_mask, phones=phones).content_mu

    def loss(self, audio: torch.Tensor, offsets: torch.Tensor, frame_mask: torch.Tensor, generator: torch.Generator,
             audio_mask: torch.Tensor | None = None, phones: torch.Tensor | None = None) -> torch.Tensor:
        """The flow-matching loss of one batch: ``offsets`` (B, T, V, 3) of the audio (B, S)."""
        content = self.content(audio, offsets.shape[1], audio_mask, phones)  # (B, T, C)
        drop = torch.rand(len(content), generator=generator) < self.audio_dropout  # (B,) null audio rows
        content = content * (~drop).to(content)[:, None, None]
        known = prompt_masks(frame_mask, self.shares, generator)
        return flow_matching_loss(self.field, self.basis.encode(offsets), content, known, frame_mask, generator)
