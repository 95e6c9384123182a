"""The main job: speech + a style in, a personalized vertex sequence out.

>>> import ptalker
>>> model = ptalker.load_model()                       # the default checkpoint
>>> result = model.animate("speech.wav", style=ptalker.Style(speaker="S03"))
>>> result.vertices.shape                               # (T, V, 3)

A style is a training speaker's identity, a reference clip of anyone (their audio and vertex
sequence, a few seconds: the personalization path for new people), or a weighted mix of
styles; ``strength`` scales it from the neutral style (0) to as referenced (1). Long audio is
decoded in overlapping windows with a linear cross-fade, so time and memory grow linearly.

A checkpoint with a phonetic channel (``uses_phones``) also reads the speech's phones:
forced alignment of ``text`` when given, else phone recognition (pocketsphinx,
:func:`ptalker.audio.phones.speech_timeline`); ``load_model(..., phones=False)`` runs it on the
audio alone, and streaming always does (the phones of a whole utterance are not known while it
is spoken).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ptalker.audio.io import check_waveform, load_audio
from ptalker.audio.timeline import Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.mesh.topology import Topology
from ptalker.pipelines.checkpoint import load_checkpoint, load_state, network_from_config
from ptalker.pipelines.decoding import decode_offsets
from ptalker.pipelines.streaming import FrameStream, StreamSettings

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
"""The package's shipped files (the default checkpoint, the demo sample)."""
DEFAULT_CHECKPOINT = ASSETS_DIR / "ptalker_standin.pt"
WINDOW_FRAMES = 300
"""Frames decoded at once (10 s at 30 fps)."""
OVERLAP_FRAMES = 30
"""Frames shared by neighbouring windows, cross-faded."""


@dataclass
class Style:
    """How the animation should talk (give one of speaker, reference or mix)."""

    speaker: str | None = None
    """A training speaker of the checkpoint (see ``Animator.speakers``)."""
    reference_audio: np.ndarray | None = None
    """(S,) float32 16 kHz speech of the reference clip."""
    reference_motion: np.ndarray | None = None
    """(T, V, 3) vertex sequence of the same clip."""
    reference_template: np.ndarray | None = None
    """(V, 3) the reference person's neutral face; default: the per-vertex median of the clip."""
    mix: list[tuple["Style", float]] = field(default_factory=list)
    """Styles and weights, blended (weights are normalised to sum to 1)."""
    strength: float = 1.0
    """0: the neutral style; 1: as referenced; above 1 exaggerates."""


@dataclass
class Animation:
    """What :meth:`Animator.animate` returns."""

    vertices: np.ndarray
    """(T, V, 3) float32 meshes."""
    fps: float
    faces: np.ndarray
    """(F, 3) triangles."""


class Animator:
    """A trained network (PTalker, or the FaceFormer baseline) ready to animate (see :func:`load_model`)."""

    def __init__(self, model: torch.nn.Module, checkpoint: dict, topology: Topology, device: torch.device,
                 phones: bool = True) -> None:
        self.model = model.eval()
        self.uses_phones = bool(phones and getattr(model, "uses_phones", False))
        """True when :meth:`animate` feeds the network the speech's phones (its phonetic channel)."""
        self.device = device
        self.topology = topology
        """The mesh the model animates (its template is the default face)."""
        self.speakers: list[str] = list(checkpoint["extra"].get("speakers", []))
        self.fps = float(checkpoint["extra"].get("fps", 30.0))
        self.architecture: str = checkpoint["config"].get("architecture", "ptalker")
        self.rigid: np.ndarray | None = None
        """Ids that move only with the head, when the model was trained on stabilized clips (its
        reference clips are stabilized alike); else None."""
        if checkpoint["config"].get("stabilize_head", False):
            self.rigid = rigid_region_ids(topology.masks.all, f"{topology.masks.source} (stabilize_head)")

    @torch.no_grad()
    def style_vector(self, style: Style) -> torch.Tensor:
        """(S,) the style vector of ``style``."""
        if style.mix:
            weights = torch.tensor([w for _, w in style.mix], dtype=torch.float32)
            if weights.sum() <= 0:
                raise PtalkerError(f"style mix: weights {weights.tolist()} must sum to a positive number")
            vectors = torch.stack([self.style_vector(s) for s, _ in style.mix])
            vector = (weights[:, None].to(vectors) * vectors).sum(0) / weights.sum()
        elif style.speaker is not None:
            if style.speaker not in self.speakers:
                raise PtalkerError(f"speaker '{style.speaker}': not a training speaker of this checkpoint; "
                                   f"choose one of {', '.join(self.speakers) or 'none'} or give a reference clip")
            index = torch.tensor([self.speakers.index(style.speaker)], device=self.device)
            vector = self.model.identity_style(index)[0]
        elif style.reference_audio is not None and style.reference_motion is not None:
            vector = self._reference_style(style)
        else:
            raise PtalkerError("style: give a speaker, a reference clip (audio and motion) or a mix")
        neutral = self.model.neutral_style()
        return neutral + style.strength * (vector - neutral)

    def _reference_style(self, style: Style) -> torch.Tensor:
        if not hasattr(self.model, "reference_style"):
            raise PtalkerError(f"reference clip: this checkpoint ({self.architecture}) conditions on its training "
                               "speakers only; give a speaker, or no style for their mean")
        motion = np.asarray(style.reference_motion, dtype=np.float32)
        if motion.ndim != 3 or motion.shape[1:] != (self.model.num_vertices, 3):
            raise PtalkerError(f"reference motion: expected (T, {self.model.num_vertices}, 3) vertices of this "
                               f"head, got {motion.shape}")
        template = np.median(motion, axis=0) if style.reference_template is None else \
            np.asarray(style.reference_template, dtype=np.float32)
        if self.rigid is not None:
            motion = remove_head_motion(motion, template, self.rigid).aligned.astype(np.float32)
        audio = torch.from_numpy(check_waveform(np.asarray(style.reference_audio, np.float32), "reference audio"))
        offsets = torch.from_numpy(motion - template)[None].to(self.device)
        audio_codes = self.model.audio_codes(audio[None].to(self.device), len(motion))
        motion_codes = self.model.motion_codes(offsets, torch.from_numpy(template)[None].to(self.device))
        return self.model.reference_style(audio_codes.style, motion_codes.style)[0]

    @torch.no_grad()
    def animate(self, audio: np.ndarray | str | os.PathLike, style: Style | str | None = None,
                template: np.ndarray | None = None, text: str | None = None,
                timeline: Speech | None = None) -> Animation:
        """Animate ``audio`` (a path or (S,) float32 at 16 kHz) in ``style`` (a Style, a training
        speaker id, or None for the neutral style) on ``template`` (V, 3) (default: the
        checkpoint's mesh); ``text``, what is said, aligns the phones of a phonetic channel, or
        ``timeline`` gives them (any espeak-symbol timeline on the audio's clock); both are
        ignored by audio-only checkpoints."""
        source = str(audio) if isinstance(audio, (str, os.PathLike)) else "audio"
        if isinstance(audio, (str, os.PathLike)):
            audio = load_audio(audio)
        audio = check_waveform(np.asarray(audio, dtype=np.float32), "audio")
        vector, base = self._style_and_base(style, template)
        num_frames = max(1, int(round(len(audio) / AUDIO_SAMPLE_RATE_HZ * self.fps)))
        phones = self._phones(audio, text, timeline, source, num_frames) if self.uses_phones else None
        offsets = self._decode_windows(torch.from_numpy(audio), vector, num_frames, phones)
        return Animation((base[None] + offsets).astype(np.float32), self.fps, self.topology.faces)

    def _phones(self, audio: np.ndarray, text: str | None, timeline: Speech | None, source: str,
                num_frames: int) -> torch.Tensor:
        """(T, P) phonetic-channel features of ``audio``: of ``timeline`` when given, else of the
        aligned ``text``, else of recognized phones."""
        from ptalker.audio.phones import phone_features, speech_timeline
        from ptalker.data.phones import canonical_timeline

        speech = canonical_timeline(timeline) if timeline is not None else speech_timeline(audio, text, source)
        return torch.from_numpy(phone_features(speech, num_frames, self.fps))

    def stream(self, chunks: Iterable[np.ndarray], style: Style | str | None = None,
               template: np.ndarray | None = None, settings: StreamSettings | None = None) -> Iterator[np.ndarray]:
        """Animate speech that arrives in ``chunks`` ((S,) float32 at 16 kHz each, any length):
        yields (n, V, 3) vertices as soon as they are determined (see :mod:`ptalker.pipelines.streaming`;
        latency: ``settings.latency_s(chunk seconds, self.fps)``). Style and template as in
        :meth:`animate`; all frames together are as many as :meth:`animate` gives."""
        with torch.no_grad():
            vector, base = self._style_and_base(style, template)

        @torch.no_grad()
        def decode(audio: np.ndarray, frames: int) -> np.ndarray:
            clip = torch.from_numpy(audio)[None].to(self.device)
            return decode_offsets(self.model, clip, frames, vector[None])[0].cpu().numpy()  # (W, V, 3)

        frames = FrameStream(decode, self.fps, self.model.num_vertices, settings)
        for chunk in chunks:
            offsets = frames.push(chunk)
            if len(offsets):
                yield base[None] + offsets
        yield base[None] + frames.finish()

    def _style_and_base(self, style: Style | str | None, template: np.ndarray | None) -> tuple[torch.Tensor, np.ndarray]:
        """(S,) the style vector of ``style`` (None: neutral) and the (V, 3) mesh to animate."""
        if style is None:
            vector = self.model.neutral_style()
        else:
            vector = self.style_vector(Style(speaker=style) if isinstance(style, str) else style)
        base = self.topology.template if template is None else np.asarray(template, np.float32)
        if base.shape != (self.model.num_vertices, 3):
            raise PtalkerError(f"template: expected ({self.model.num_vertices}, 3) vertices of the checkpoint's mesh, "
                               f"got {base.shape}")
        return vector, base

    def _decode_windows(self, audio: torch.Tensor, style: torch.Tensor, num_frames: int,
                        phones: torch.Tensor | None = None) -> np.ndarray:
        """(T, V, 3) offsets, decoded in overlapping windows blended linearly where they overlap;
        ``phones`` (T, P) or None."""
        out = np.zeros((num_frames, self.model.num_vertices, 3), np.float32)
        weight = np.zeros(num_frames, np.float32)
        samples_per_frame = AUDIO_SAMPLE_RATE_HZ / self.fps
        for start, stop in window_spans(num_frames):
            clip = audio[int(start * samples_per_frame):int(round(stop * samples_per_frame))]
            window_phones = None if phones is None else phones[start:stop][None].to(self.device)  # (1, W, P)
            offsets = decode_offsets(self.model, clip[None].to(self.device), stop - start,
                                     style[None], window_phones)[0].cpu().numpy()  # (W, V, 3)
            ramp = np.ones(stop - start, np.float32)
            fade = np.linspace(0.0, 1.0, OVERLAP_FRAMES + 2, dtype=np.float32)[1:-1]  # (O,) strictly inside 0..1
            if start > 0:
                ramp[:OVERLAP_FRAMES] = fade[:stop - start]
            if stop < num_frames:
                ramp[-OVERLAP_FRAMES:] *= fade[::-1]
            out[start:stop] += ramp[:, None, None] * offsets
            weight[start:stop] += ramp
        return out / weight[:, None, None]


def window_spans(num_frames: int) -> list[tuple[int, int]]:
    """(start, stop) frames of the windows a clip of ``num_frames`` frames is decoded in:
    WINDOW_FRAMES long, OVERLAP_FRAMES shared by neighbours (one window for short clips)."""
    step = WINDOW_FRAMES - OVERLAP_FRAMES
    return [(start, min(start + WINDOW_FRAMES, num_frames))
            for start in range(0, max(num_frames - OVERLAP_FRAMES, 1), step)]


def load_model(checkpoint: str | os.PathLike | None = None, device: str = "cpu", phones: bool = True) -> Animator:
    """The network in ``checkpoint`` (default: the shipped PTalker) on the mesh it was trained on;
    ``phones=False`` runs a checkpoint with a phonetic channel on the audio alone."""
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    data = load_checkpoint(path)
    topology = Topology.from_checkpoint(data["topology"], str(path))
    model = network_from_config(data["config"], topology, str(path))
    load_state(model, data)
    return Animator(model.to(device), data, topology, torch.device(device), phones)
