"""FaceFormer (Fan et al., CVPR 2022): the baseline every table of the field starts from.

    audio (B, S) --wav2vec2 + linear--> audio features (B, T, D)
    speaker id --one-hot embedding--> style (B, D)
    tokens: [style, embed(offsets_0) + style, ..., embed(offsets_{T-2}) + style] + periodic
            positional encoding                                                   (B, T, D)
    transformer decoder(tokens, audio features) --linear--> offsets (B, T, V, 3)

- self-attention is causal with FaceFormer's biased mask: query i sees keys j <= i with the
  ALiBi-style bias -slope_h * floor((i - j) / period), so the bias is constant within a period;
- cross-attention carries the alignment mask: motion frame i sees audio frame i only (the audio
  features are interpolated to the motion frame rate, as FaceFormer does on VOCASET);
- the style is a learned vector per training speaker (one-hot times a matrix): the start token,
  and added to every motion token. Unseen speakers are animated with a training speaker's style
  or their mean.

Training is teacher-forced (the ground truth shifted by one frame is the input), optionally with
parallel scheduled sampling (``scheduled_sampling``: some input frames are the network's own
predictions, as at inference); inference is autoregressive, one frame after another
(``ptalker.pipelines.decoding.autoregressive_decode``). The width,
depth and heads follow PTalker's decoder settings so the two compare like for like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ptalker.audio.encoder import AudioEncoder, AudioEncoderConfig
from ptalker.errors import PtalkerError
from ptalker.models.decoder import alibi_slopes


@dataclass
class FaceFormerConfig:
    """Sizes of the network (the ``faceformer`` section of a training config)."""

    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    dim: int = 64
    """D, width of the decoder (FaceFormer on VOCASET: 64)."""
    layers: int = 1
    heads: int = 4
    ff: int = 128
    """Feed-forward width (FaceFormer: 2 * D)."""
    period: int = 30
    """Frames per period of the positional encoding and of the attention bias (VOCASET: 30)."""
    dropout: float = 0.1
    num_speakers: int = 0
    """Training speakers (set by the trainer)."""
    motion_unit: float = 0.001
    """Mesh units per network unit (millimetres for metre meshes), as in PTalkerConfig."""
    scheduled_sampling: float = 0.0
    """Training only: the share of motion-input frames replaced by the network's own prediction of
    them, from a first teacher-forced pass without gradients (parallel scheduled sampling, Duckworth
    et al. 2019), so training sees inputs like those autoregressive decoding feeds it (exposure
    bias). 0: plain teacher forcing."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.scheduled_sampling <= 1.0:
            raise PtalkerError("faceformer.scheduled_sampling: expected a share in [0, 1], "
                               f"got {self.scheduled_sampling}")


def periodic_encoding(length: int, dim: int, period: int, device: torch.device) -> torch.Tensor:
    """(T, D) sinusoidal encoding of the position modulo ``period`` (FaceFormer's PPE)."""
    position = (torch.arange(length, device=device) % period).float()[:, None]  # (T, 1)
    rate = torch.exp(torch.arange(0, dim, 2, device=device).float() * (-math.log(10000.0) / dim))  # (D/2,)
    encoding = torch.zeros(length, dim, device=device)
    encoding[:, 0::2] = torch.sin(position * rate)
    encoding[:, 1::2] = torch.cos(position * rate[:dim // 2])
    return encoding


def biased_causal_mask(length: int, period: int, slopes: torch.Tensor) -> torch.Tensor:
    """(H, T, T) additive self-attention mask: -slope_h * floor((i - j) / period) for j <= i,
    -inf for j > i (the future)."""
    position = torch.arange(length, device=slopes.device)
    distance = position[:, None] - position[None]  # (T, T) i - j
    bias = -slopes[:, None, None] * torch.div(distance.clamp(min=0), period, rounding_mode="floor")[None]
    return bias.masked_fill(distance[None] < 0, float("-inf"))


def alignment_mask(queries: int, keys: int, device: torch.device) -> torch.Tensor:
    """(T_q, T_k) bool, True where attention is blocked: motion frame i sees audio frame i only."""
    return ~torch.eye(queries, keys, dtype=torch.bool, device=device)


class FaceFormer(nn.Module):
    """The network. ``num_vertices``: V of the output mesh."""

    architecture = "faceformer"
    """The name training configs and checkpoints give this network (:mod:`ptalker.models.build`)."""

    def __init__(self, config: FaceFormerConfig, num_vertices: int) -> None:
        super().__init__()
        self.config = config
        self.num_vertices = num_vertices
        c = config
        self.audio_encoder = AudioEncoder(c.audio)
        self.audio_map = nn.Linear(self.audio_encoder.dim, c.dim)
        self.identity = nn.Embedding(max(c.num_speakers, 1), c.dim)
        self.motion_in = nn.Linear(num_vertices * 3, c.dim)
        layer = nn.TransformerDecoderLayer(c.dim, c.heads, c.ff, c.dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, c.layers)
        self.motion_out = nn.Linear(c.dim, num_vertices * 3)
        nn.init.zeros_(self.motion_out.weight)  # as FaceFormer: an untrained model predicts the template
        nn.init.zeros_(self.motion_out.bias)
        self.register_buffer("slopes", alibi_slopes(c.heads), persistent=False)

    def encode_audio(self, audio: torch.Tensor, num_frames: int, audio_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, D) audio features of ``audio`` (B, S) at 16 kHz spanning ``num_frames`` frames."""
        return self.audio_map(self.audio_encoder(audio, num_frames, audio_mask))

    def identity_style(self, speaker: torch.Tensor) -> torch.Tensor:
        """(B, D) the style of training speakers ``speaker`` (B,) (indices)."""
        return self.identity(speaker)

    def neutral_style(self) -> torch.Tensor:
        """(D,) the mean of the training speakers' styles."""
        return self.identity.weight.mean(dim=0)

    def embed_motion(self, offsets: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(B, t, D) motion tokens of ``offsets`` (B, t, V, 3) in mesh units, style (B, D) added."""
        flat = offsets.flatten(2) / self.config.motion_unit  # (B, t, V*3) in network units
        return self.motion_in(flat) + style[:, None]

    def decode(self, tokens: torch.Tensor, audio: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Offsets (B, t, V, 3) in mesh units (or (B, 1, V, 3), the last frame's, with ``last_only``)
        for motion tokens (B, t, D) without positional encoding and audio features (B, T, D), t <= T."""
        B, t, D = tokens.shape
        x = tokens + periodic_encoding(t, D, self.config.period, tokens.device)[None]
        self_mask = biased_causal_mask(t, self.config.period, self.slopes).to(x.dtype)  # (H, t, t)
        self_mask = self_mask.repeat(B, 1, 1)  # (B*H, t, t), batch-major as MultiheadAttention wants
        hidden = self.decoder(x, audio, tgt_mask=self_mask, memory_mask=alignment_mask(t, audio.shape[1], x.device))
        if last_only:
            hidden = hidden[:, -1:]
        offsets = self.motion_out(hidden) * self.config.motion_unit  # (B, t, V*3)
        return offsets.reshape(B, hidden.shape[1], self.num_vertices, 3)

    def forward(self, audio: torch.Tensor, style: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Teacher-forced offsets (B, T, V, 3): frame i is predicted from audio features (B, T, D),
        style (B, D) and the true offsets ``target`` (B, T, V, 3) of frames before i; in training
        with ``scheduled_sampling`` > 0, that share of those input frames are the network's own
        predictions instead (chosen at random per frame)."""
        inputs = target
        if self.training and self.config.scheduled_sampling > 0:
            with torch.no_grad():
                own = self._teacher_forced(audio, style, target)  # (B, T, V, 3)
            replace = torch.rand(target.shape[:2], device=target.device) < self.config.scheduled_sampling  # (B, T)
            inputs = torch.where(replace[..., None, None], own, target)
        return self._teacher_forced(audio, style, inputs)

    def _teacher_forced(self, audio: torch.Tensor, style: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T, V, 3) offsets, frame i decoded from ``inputs`` (B, T, V, 3) of frames before i."""
        start = style[:, None]  # (B, 1, D)
        tokens = torch.cat([start, self.embed_motion(inputs[:, :-1], style)], dim=1)  # (B, T, D)
        return self.decode(tokens, audio)
