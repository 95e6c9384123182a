"""Speakers of the synthetic corpus: a voice, a face shape and a speaking style each.

A speaking style is nine independent numbers (:class:`SpeakingStyle`). Each corpus speaker draws
them uniformly from the ranges in :class:`StyleRanges` with the corpus seed; a config may pin
any of them per speaker (``speakers: {S01: {lip_amplitude: 1.3}}``), which is how tests build
two speakers that differ in one respect only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ptalker.config import from_dict
from ptalker.data.synth.espeak import Voice, is_reproducible
from ptalker.errors import PtalkerError


@dataclass
class SpeakingStyle:
    """How one person moves while talking (every field independent of the others)."""

    lip_amplitude: float = 1.0
    """Scale of lip shapes: rounding, spreading, parting (1 = average)."""
    jaw_amplitude: float = 1.0
    """Scale of jaw opening (1 = average); with ``lip_amplitude`` it sets the jaw/lip ratio."""
    smile_bias: float = 0.0
    """Resting expression: > 0 smiles, < 0 frowns (-1..1)."""
    anticipation_ms: float = 40.0
    """How far articulation runs ahead of the sound, in milliseconds."""
    smoothness: float = 1.0
    """Width of coarticulation (1 = average); larger blends neighbouring sounds more."""
    asymmetry: float = 0.0
    """Left/right imbalance of the mouth: > 0 the subject's left side moves more (-0.5..0.5)."""
    brow_activity: float = 0.5
    """Brow raises on stressed syllables (0 = none, 1 = strong)."""
    head_motion: float = 1.0
    """Energy of head movement (0 = still, 1 = average)."""
    blink_rate_hz: float = 0.3
    """Blinks per second."""


@dataclass
class StyleRanges:
    """Uniform ranges [low, high] that corpus speakers draw their style from."""

    lip_amplitude: list[float] = field(default_factory=lambda: [0.6, 1.4])
    jaw_amplitude: list[float] = field(default_factory=lambda: [0.6, 1.4])
    smile_bias: list[float] = field(default_factory=lambda: [-0.6, 0.8])
    anticipation_ms: list[float] = field(default_factory=lambda: [0.0, 100.0])
    smoothness: list[float] = field(default_factory=lambda: [0.6, 1.6])
    asymmetry: list[float] = field(default_factory=lambda: [-0.4, 0.4])
    brow_activity: list[float] = field(default_factory=lambda: [0.0, 1.0])
    head_motion: list[float] = field(default_factory=lambda: [0.2, 1.6])
    blink_rate_hz: list[float] = field(default_factory=lambda: [0.05, 0.6])


@dataclass
class VoiceRanges:
    """Where corpus speakers' voices come from (espeak-ng variants, rate, pitch)."""

    name: str = "en-us"
    variants: list[str] = field(default_factory=lambda: [
        "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f4", "Annie", "belinda", "linda"])
    """Only reproducible variants (see espeak.is_reproducible: not f2, f3, f5)."""
    rate_wpm: list[int] = field(default_factory=lambda: [155, 195])
    pitch: list[int] = field(default_factory=lambda: [30, 70])
    pitch_range: list[int] = field(default_factory=lambda: [30, 80])

    def __post_init__(self) -> None:
        for name in ("rate_wpm", "pitch", "pitch_range"):
            bounds = getattr(self, name)
            if len(bounds) != 2 or bounds[0] > bounds[1]:
                raise PtalkerError(f"voices.{name}: expected [low, high] with low <= high, got {bounds}")
            for value in bounds:
                Voice(**{name: value})  # the same range checks as a voice (PtalkerError naming the field)
        noisy = [v for v in self.variants if not is_reproducible(v)]
        if noisy or not self.variants:
            raise PtalkerError(f"voices.variants: {', '.join(noisy) or 'empty'}: a corpus needs "
                               "reproducible variants (no 'breath' noise), e.g. m1-m7, f1, f4")


NUM_SHAPE_COMPONENTS = 11
"""The stand-in head's shape components (head width ... ear size)."""
SHAPE_STD = 0.8
SHAPE_LIMIT = 2.0


@dataclass
class FaceHabits:
    """How one person's eyes move (corpora with a ``whole_face`` section only)."""

    gaze_activity: float
    """Saccade rate of :func:`ptalker.controls.procedural.saccades` (0 = eyes still, 1 = average)."""
    blink_duration: float
    """Length of a blink relative to the procedural blink's 0.28 s (1 = as long)."""


@dataclass
class Speaker:
    """One corpus speaker: everything that makes them who they are."""

    id: str
    split: str
    style: SpeakingStyle
    voice: Voice
    shape: list[float]
    """Coefficients of the head's shape components: this speaker's neutral face."""
    habits: FaceHabits | None = None
    """Gaze and blink habits; None in corpora without whole-face motion."""

    def to_json(self) -> dict:
        data = {"id": self.id, "split": self.split, "style": dataclasses.asdict(self.style),
                "voice": dataclasses.asdict(self.voice), "shape": [round(s, 6) for s in self.shape]}
        if self.habits is not None:
            data["habits"] = {k: round(v, 6) for k, v in dataclasses.asdict(self.habits).items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Speaker":
        habits = from_dict(FaceHabits, data["habits"], "habits") if "habits" in data else None
        return cls(data["id"], data["split"], from_dict(SpeakingStyle, data["style"], "style"),
                   Voice(**data["voice"]), [float(s) for s in data["shape"]], habits)


def _uniform(rng: np.random.Generator, bounds: list, name: str) -> float:
    if len(bounds) != 2 or bounds[0] > bounds[1]:
        raise PtalkerError(f"style range {name}: expected [low, high] with low <= high, got {bounds}")
    return float(rng.uniform(bounds[0], bounds[1]))


def draw_speaker(speaker_id: str, split: str, rng: np.random.Generator, styles: StyleRanges,
                 voices: VoiceRanges, pinned: dict | None = None) -> Speaker:
    """A speaker with style, voice and shape drawn from ``rng``; ``pinned`` fixes any of them.

    ``pinned`` holds SpeakingStyle fields, and optionally 'voice' (Voice fields) and 'shape'.
    Every number is drawn whether or not it is pinned, so pinning one field of one speaker does
    not change what the others draw.
    """
    pinned = dict(pinned or {})
    style = {f.name: _uniform(rng, getattr(styles, f.name), f.name)
             for f in dataclasses.fields(SpeakingStyle)}
    voice = Voice(voices.name, voices.variants[int(rng.integers(len(voices.variants)))],
                  int(rng.integers(voices.rate_wpm[0], voices.rate_wpm[1] + 1)),
                  int(rng.integers(voices.pitch[0], voices.pitch[1] + 1)),
                  int(rng.integers(voices.pitch_range[0], voices.pitch_range[1] + 1)))
    shape = np.clip(rng.normal(0.0, SHAPE_STD, NUM_SHAPE_COMPONENTS), -SHAPE_LIMIT, SHAPE_LIMIT)
    where = f"speakers.{speaker_id}"
    if "voice" in pinned:
        voice = from_dict(Voice, {**dataclasses.asdict(voice), **pinned.pop("voice")}, f"{where}.voice")
    if "shape" in pinned:
        shape = np.asarray(pinned.pop("shape"), dtype=float)
        if shape.shape != (NUM_SHAPE_COMPONENTS,):
            raise PtalkerError(f"{where}.shape: expected {NUM_SHAPE_COMPONENTS} shape coefficients, "
                               f"got {shape.size}")
    style.update(pinned)
    return Speaker(speaker_id, split, from_dict(SpeakingStyle, style, where), voice,
                   [float(s) for s in shape])
