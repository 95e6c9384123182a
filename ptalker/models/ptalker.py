"""PTalker: personalized speech-driven 3D talking heads by style disentanglement and alignment.

    audio (B, S) --wav2vec2--> features (B, T, A) --+--> audio content  mu, logvar (B, T, C)
    phones (B, T, P) --linear--> (B, T, A) ---------'    (phonetic channel, optional)
                                                    +--> audio style    (B, S_dim) (audio only)
    offsets (B, T, V, 3) --graph attention--> motion features (B, T, G)
                                                    +--> motion content mu, logvar (B, T, C)
                                                    +--> motion style   (B, S_dim)
    speaker id --embedding--> identity style (B, S_dim)                 (optional)

    decoder(audio content, style) --> offsets (B, T, V, 3); vertices = template + offsets

The style of a reference clip fuses its motion style and audio style. Training aligns audio
and motion content (top-k contrastive, KL), keeps style and content apart (orthogonality, an
adversarial speaker classifier on content) and makes style consistent per speaker (InfoNCE);
see ptalker/training/loop.py. This module only computes; decoding long audio and style choices live in
ptalker/pipelines/animator.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ptalker.audio.encoder import AudioEncoder, AudioEncoderConfig
from ptalker.errors import PtalkerError
from ptalker.losses.alignment import grad_reverse
from ptalker.models.decoder import MotionDecoder
from ptalker.models.encoders import ContentEncoder, StyleEncoder
from ptalker.models.mesh_graph import coarsen_mesh
from ptalker.models.spatial import SpatialEncoder


CONTENT_INPUTS = ("audio+phones", "phones")


@dataclass
class PTalkerConfig:
    """Sizes of the network (the ``model`` section of a training config, ``configs/train/*.yaml``)."""

    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    content_dim: int = 128
    style_dim: int = 64
    graph_nodes: int = 96
    graph_dim: int = 32
    graph_layers: int = 2
    graph_heads: int = 2
    decoder_layers: int = 2
    decoder_heads: int = 4
    decoder_ff: int = 256
    window: int = 30
    """Frames a motion frame attends to on either side."""
    align: int = 3
    """Audio frames a motion frame attends to on either side (the alignment band)."""
    basis: int = 64
    dropout: float = 0.1
    num_speakers: int = 0
    """Training speakers with an identity style embedding (0: none)."""
    phone_classes: int = 0
    """Width P of the phonetic channel (per-frame phone classes, :data:`ptalker.audio.phones.PHONE_CLASSES`):
    0 for audio only. Frames without phones (None or zeros) are audio only. (Its input layer
    starts at random: started at zero, it barely grew in fine-tuning at the usual learning rate.)"""
    phone_dropout: float = 0.3
    """Training drops a clip's phones with this probability, so the audio-only path stays good."""
    recognized_phones: float = 0.5
    """Of the training clips that keep phones, this share gets the recognized ones, the others
    the true ones (:mod:`ptalker.data.phones`)."""
    content_inputs: str = "audio+phones"
    """What the content path reads outside training when phones are given: "audio+phones", or
    "phones" (the audio features then feed only the style). Without phones it reads the audio."""
    audio_dropout: float = 0.0
    """Training hides the audio features from the content encoder of a clip that has phones with
    this probability, so the phonetic channel learns to carry the motion by itself (the style
    still reads the audio)."""
    motion_unit: float = 0.001
    """Mesh units per network unit: the network reads and writes offsets in millimetres when
    meshes are in metres (VOCASET, the stand-in)."""


@dataclass
class Codes:
    """Content and style of one batch of clips, from audio or from motion."""

    content_mu: torch.Tensor
    """(B, T, C)"""
    content_logvar: torch.Tensor
    """(B, T, C)"""
    style: torch.Tensor
    """(B, S)"""


class PTalker(nn.Module):
    """The network.

    Args:
        config: sizes.
        template: (V, 3) a neutral mesh of the topology (the graph is sampled on it).
        faces: (F, 3) triangles of the topology.
        graph_candidates: vertex ids the graph nodes may be sampled from (e.g. the face region).
    """

    architecture = "ptalker"
    """The name training configs and checkpoints give this network (:mod:`ptalker.models.build`)."""

    def __init__(self, config: PTalkerConfig, template: np.ndarray, faces: np.ndarray,
                 graph_candidates: np.ndarray | None = None) -> None:
        super().__init__()
        if config.content_inputs not in CONTENT_INPUTS:
            raise PtalkerError(f"model.content_inputs '{config.content_inputs}': choose one of "
                               f"{', '.join(CONTENT_INPUTS)}")
        self.config = config
        self.num_vertices = len(template)
        c = config
        self.audio_encoder = AudioEncoder(c.audio)
        graph = coarsen_mesh(template, faces, c.graph_nodes, graph_candidates)
        self.spatial = SpatialEncoder(graph, c.graph_dim, c.graph_layers, c.graph_heads, 1.0 / c.motion_unit)
        self.audio_content = ContentEncoder(self.audio_encoder.dim, c.content_dim, dropout=c.dropout)
        self.phone_input = nn.Linear(c.phone_classes, self.audio_encoder.dim) if c.phone_classes else None
        self.motion_content = ContentEncoder(c.graph_dim, c.content_dim, dropout=c.dropout)
        self.audio_style = StyleEncoder(self.audio_encoder.dim, c.style_dim, dropout=c.dropout)
        self.motion_style = StyleEncoder(c.graph_dim, c.style_dim, dropout=c.dropout)
        self.fuse_style = nn.Linear(2 * c.style_dim, c.style_dim)
        self.identity = nn.Embedding(c.num_speakers, c.style_dim) if c.num_speakers else None
        self.to_content_style = nn.Linear(c.style_dim, c.content_dim, bias=False)
        self.speaker_classifier = nn.Sequential(nn.Linear(c.content_dim, c.content_dim), nn.GELU(),
                                                nn.Linear(c.content_dim, max(c.num_speakers, 1)))
        self.decoder = MotionDecoder(c.content_dim, c.style_dim, self.num_vertices, c.decoder_layers,
                                     c.decoder_heads, c.decoder_ff, c.window, c.align, c.basis, c.dropout)

    @property
    def uses_phones(self) -> bool:
        """True when the network has a phonetic channel."""
        return self.phone_input is not None

    def audio_codes(self, audio: torch.Tensor, num_frames: int, audio_mask: torch.Tensor | None = None,
                    frame_mask: torch.Tensor | None = None, phones: torch.Tensor | None = None) -> Codes:
        """Content and style of speech: audio (B, S) at 16 kHz spanning ``num_frames`` frames;
        ``phones`` (B, T, P) feed the content (not the style) when the network has a phonetic
        channel (ignored otherwise; None there means audio only)."""
        features = self.audio_encoder(audio, num_frames, audio_mask)  # (B, T, A)
        content_input = features
        if self.phone_input is not None:  # no phones: all-zero classes, as phone dropout trains it
            phones = features.new_zeros((*features.shape[:2], self.config.phone_classes)) if phones is None else phones
            has_phones = phones.abs().sum(dim=(1, 2)) > 0  # (B,)
            if self.training:
                hide = has_phones & (torch.rand(len(phones), device=phones.device) < self.config.audio_dropout)
            else:
                hide = has_phones & (self.config.content_inputs == "phones")
            content_input = content_input * (~hide)[:, None, None].to(features.dtype)
            content_input = content_input + self.phone_input(phones.to(features.dtype))
        mu, logvar = self.audio_content(content_input, frame_mask)
        return Codes(mu, logvar, self.audio_style(features, frame_mask))

    def motion_codes(self, offsets: torch.Tensor, template: torch.Tensor,
                     frame_mask: torch.Tensor | None = None) -> Codes:
        """Content and style of motion: offsets (B, T, V, 3) from the templates (B, V, 3)."""
        features = self.spatial(offsets, template)  # (B, T, G)
        mu, logvar = self.motion_content(features, frame_mask)
        return Codes(mu, logvar, self.motion_style(features, frame_mask))

    def reference_style(self, audio_style: torch.Tensor, motion_style: torch.Tensor) -> torch.Tensor:
        """(B, S) the style of a reference clip from its audio and motion styles (B, S) each."""
        return self.fuse_style(torch.cat([audio_style, motion_style], dim=-1))

    def clip_style(self, audio: torch.Tensor, offsets: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
        """(B, S) the style of reference clips: speech ``audio`` (B, S_audio) and vertex ``offsets``
        (B, T, V, 3) from the speakers' ``template`` (B, V, 3)."""
        audio_style = self.audio_codes(audio, offsets.shape[1]).style
        return self.reference_style(audio_style, self.motion_codes(offsets, template).style)

    def identity_style(self, speaker: torch.Tensor) -> torch.Tensor:
        """(B, S) the learned style of training speakers ``speaker`` (B,) (indices)."""
        if self.identity is None:
            raise ValueError("this model has no identity styles (num_speakers = 0)")
        return self.identity(speaker)

    def neutral_style(self) -> torch.Tensor:
        """(S,) style strength 0: the mean identity style (zeros without identities)."""
        if self.identity is None:
            return torch.zeros(self.config.style_dim, device=self.fuse_style.weight.device)
        return self.identity.weight.mean(dim=0)

    def style_as_content(self, style: torch.Tensor) -> torch.Tensor:
        """(B, C) style (B, S) projected into content space, where orthogonality is measured."""
        return self.to_content_style(style)

    def speaker_logits(self, content: torch.Tensor, frame_mask: torch.Tensor, reverse: float) -> torch.Tensor:
        """(B, num_speakers) speaker guesses from clip-mean content (B, T, C), gradient reversed."""
        weight = frame_mask[..., None].to(content.dtype)
        pooled = (content * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1)  # (B, C)
        return self.speaker_classifier(grad_reverse(pooled, reverse))

    def decode(self, content: torch.Tensor, style: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Vertex offsets (B, T, V, 3), in mesh units, from audio content (B, T, C) and style (B, S)."""
        return self.decoder(content, style, frame_mask) * self.config.motion_unit
