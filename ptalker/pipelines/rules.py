"""A rule-based animator: phones -> visemes with coarticulation -> FLAME vertices, no network.

This is the way Rhubarb Lip Sync, FaceFX and OpenFaceFX animate, here with the synthetic
corpus's own viseme targets and coarticulation model (:mod:`ptalker.data.synth.motion`): the
phone timeline comes from forced alignment of a transcript, or from phone recognition without
one (:func:`ptalker.audio.phones.speech_timeline`); the style is the corpus's average speaker
(:class:`ptalker.data.synth.style.SpeakingStyle` defaults) with the head held still.

>>> from ptalker.pipelines.rules import RuleAnimator
>>> animation = RuleAnimator().animate("speech.wav", text="what is said")
>>> animation.vertices.shape                            # (T, V, 3), T = round(seconds * 30)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from ptalker.audio.io import check_waveform, load_audio
from ptalker.audio.phones import speech_timeline
from ptalker.audio.timeline import Speech
from ptalker.constants import VOCASET_FPS
from ptalker.data.synth.motion import LipGapModel, animate
from ptalker.data.synth.style import SpeakingStyle
from ptalker.errors import PtalkerError
from ptalker.flame.flame_model import FlameModel
from ptalker.mesh.regions import RegionMasks
from ptalker.pipelines.animator import Animation

STILL_HEAD_STYLE = SpeakingStyle(head_motion=0.0)
"""The corpus's average speaker, head still."""
SEED = 0
"""Blinks are placed at random; this seed makes the output repeatable."""


class RuleAnimator:
    """Animates phone timelines on a head model that has the stand-in's named expression
    components and paired lip-contact masks (the stand-in head)."""

    def __init__(self, flame_dir: str | os.PathLike | None = None, style: SpeakingStyle = STILL_HEAD_STYLE,
                 fps: float = float(VOCASET_FPS)) -> None:
        self.model = FlameModel.load(flame_dir)
        masks = RegionMasks.from_flame_masks(self.model.masks_path).all if self.model.masks_path else {}
        if "lip_contact_upper" not in masks:
            raise PtalkerError(f"head model {self.model.flame_dir}: no lip_contact_upper/lower in its masks; the "
                               "rule-based animator needs the stand-in head")
        self.shape = torch.zeros(len(self.model.shape_names))
        self.gap = LipGapModel.fit(self.model, self.shape, masks["lip_contact_upper"], masks["lip_contact_lower"])
        self.style = style
        self.fps = fps

    @torch.no_grad()
    def animate_speech(self, speech: Speech) -> Animation:
        """Vertices for a phone timeline: T = max(1, round(duration * fps)) frames."""
        params = animate(speech, self.style, self.model.expression_names, self.gap, self.fps,
                         np.random.default_rng(SEED))
        tensors = {name: torch.from_numpy(value) for name, value in dataclasses.asdict(params).items()}
        vertices = self.model(shape=self.shape, **tensors).vertices.numpy().astype(np.float32)
        return Animation(vertices, self.fps, self.model.faces)

    def animate(self, audio: np.ndarray | str | os.PathLike, text: str | None = None) -> Animation:
        """Animate ``audio`` (a path or (S,) float32 at 16 kHz): phones by forced alignment of
        ``text`` when given and it fits, else by recognition."""
        source = str(audio) if isinstance(audio, (str, os.PathLike)) else "audio"
        waveform = load_audio(audio) if isinstance(audio, (str, os.PathLike)) else \
            check_waveform(np.asarray(audio, np.float32), "audio")
        return self.animate_speech(speech_timeline(waveform, text, source))
