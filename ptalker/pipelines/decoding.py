"""Decoding loops: audio and a style vector in, vertex offsets out, for every architecture.

PTalker decodes all frames of a clip in one parallel pass. The FaceFormer baseline decodes one
frame after another, as published: each step runs its decoder over the whole prefix so far and
appends the new frame, so T frames cost T passes over 1..T tokens (quadratic in T).
"""

from __future__ import annotations

import torch
from torch import nn

from ptalker.models.faceformer import FaceFormer
from ptalker.models.ptalker import PTalker


def autoregressive_decode(model: FaceFormer, audio: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """(B, T, V, 3) offsets in mesh units, frame by frame, from audio features (B, T, D) and
    style (B, D) (FaceFormer's inference loop)."""
    tokens = style[:, None]  # (B, 1, D) the start token
    frames = []
    for index in range(audio.shape[1]):
        frame = model.decode(tokens, audio, last_only=True)  # (B, 1, V, 3)
        frames.append(frame)
        if index + 1 < audio.shape[1]:
            tokens = torch.cat([tokens, model.embed_motion(frame, style)], dim=1)  # (B, index + 2, D)
    return torch.cat(frames, dim=1)


def parallel_decode(model: PTalker, audio: torch.Tensor, num_frames: int, style: torch.Tensor,
                    phones: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, V, 3) offsets in mesh units, all frames in one pass (PTalker); ``phones`` (B, T, P)
    for a network with a phonetic channel."""
    codes = model.audio_codes(audio, num_frames, phones=phones)
    return model.decode(codes.content_mu, style)


def _faceformer_decode(model: FaceFormer, audio: torch.Tensor, num_frames: int, style: torch.Tensor,
                       phones: torch.Tensor | None = None) -> torch.Tensor:
    """FaceFormer has no phonetic channel: ``phones`` is not used."""
    return autoregressive_decode(model, model.encode_audio(audio, num_frames), style)


DECODERS = {PTalker.architecture: parallel_decode, FaceFormer.architecture: _faceformer_decode}
"""architecture -> its decoding loop: (model, audio (B, S), num_frames, style (B, S_dim),
phones (B, T, P) or None) -> (B, T, V, 3)."""


def decode_offsets(model: nn.Module, audio: torch.Tensor, num_frames: int, style: torch.Tensor,
                   phones: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, V, 3) offsets in mesh units for ``audio`` (B, S) at 16 kHz spanning ``num_frames``
    frames, in ``style`` (B, S_dim), by ``model`` (any architecture of :data:`DECODERS`, in eval
    mode); ``phones`` (B, T, P): the phonetic channel's input, for networks that have one."""
    return DECODERS[model.architecture](model, audio, num_frames, style, phones)
