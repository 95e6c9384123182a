"""Whole-face motion of the synthetic corpus: emotion heard and seen, blinks, gaze.

With a ``whole_face`` section in the corpus config (:class:`WholeFaceConfig`):

- every speaker draws :class:`ptalker.data.synth.style.FaceHabits` (gaze activity, blink length);
- every sentence gets a seeded emotion label and intensity (:func:`sentence_emotions`; each
  speaker's sentences cycle through the labels in a seeded order, so labels are balanced; neutral
  has intensity 0). The emotion is heard: the speaker's espeak pitch, pitch range and rate move
  by :data:`EMOTION_PROSODY` times the intensity (:func:`emotional_voice`); and seen: the
  expression gets ``intensity * control_expressions(model)[label]`` on every frame;
- blinks come from :func:`ptalker.controls.procedural.blink_times` (the speaker's rate, the
  pauses of the timeline as phrase boundaries) and replace the seeded blinks of
  :mod:`ptalker.data.synth.motion`; a blink closes the lids fully from wherever the emotion
  holds them (closure c gives ``e + c * (1 - e)`` on a blink component whose emotion offset is e);
- gaze comes from :func:`ptalker.controls.procedural.saccades` (the speaker's activity) and is
  written to both eyes of FLAME's ``eye_pose`` as axis-angle, the rotation
  :func:`ptalker.controls.rig.gaze_rotations` gives (yaw about +y, pitch up about -x);
- head pose stays the nods and sway of :mod:`ptalker.data.synth.motion`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ptalker.audio.timeline import Speech
from ptalker.controls.procedural import blink_curve, blink_times, saccades
from ptalker.controls.rig import gaze_rotations
from ptalker.data.synth.espeak import PERCENT_MAX, PERCENT_MIN, RATE_MAX_WPM, RATE_MIN_WPM, Voice
from ptalker.data.synth.motion import MotionParams
from ptalker.data.synth.style import FaceHabits
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import BLINKS, EMOTIONS

SECONDS_PER_MINUTE = 60.0
MAX_GAZE_ACTIVITY = 4.0
"""Upper bound of whole_face.gaze_activity (4 = a saccade every 0.3 s on average)."""
BLINK_DURATION_BOUNDS = (0.5, 2.0)
"""Allowed whole_face.blink_duration scales (0.14-0.56 s blinks)."""


@dataclass(frozen=True)
class Prosody:
    """How an emotion at intensity 1 changes an espeak voice."""

    pitch: float
    """Added to Voice.pitch (0-100; 20 points are about 3 semitones)."""
    pitch_range: float
    """Added to Voice.pitch_range (0-100)."""
    rate: float
    """Voice.rate_wpm is multiplied by 1 + intensity * (rate - 1)."""


EMOTION_PROSODY = {
    "neutral": Prosody(0.0, 0.0, 1.0),
    "happy": Prosody(20.0, 30.0, 1.15),
    "sad": Prosody(-20.0, -35.0, 0.75),
    "angry": Prosody(-10.0, 35.0, 1.30),
    "surprised": Prosody(35.0, 45.0, 0.90),
}
"""Emotion -> prosody change at intensity 1: happy higher, livelier and quicker; sad lower, flatter
and slower; angry wide and fast, a little lower; surprised much higher and wider."""


def _check_range(name: str, bounds: list[float], low: float, high: float) -> None:
    if len(bounds) != 2 or not low <= bounds[0] <= bounds[1] <= high:
        raise PtalkerError(f"whole_face.{name}: expected [low, high] with {low} <= low <= high <= {high}, "
                           f"got {bounds}")


@dataclass
class WholeFaceConfig:
    """The ``whole_face`` section of a corpus config: emotions, blinks and gaze (module doc)."""

    emotions: list[str] = field(default_factory=lambda: list(EMOTIONS))
    """Labels the sentences cycle through (any of neutral, happy, sad, angry, surprised)."""
    intensity: list[float] = field(default_factory=lambda: [0.4, 1.0])
    """Uniform range [low, high] of an emotional sentence's intensity, within [0, 1]."""
    gaze_activity: list[float] = field(default_factory=lambda: [0.5, 1.5])
    """Uniform range of a speaker's gaze activity (saccade rate, 1 = average)."""
    blink_duration: list[float] = field(default_factory=lambda: [0.8, 1.4])
    """Uniform range of a speaker's blink length (1 = 0.28 s)."""

    def __post_init__(self) -> None:
        unknown = [e for e in self.emotions if e not in EMOTIONS]
        if unknown or not self.emotions or len(set(self.emotions)) != len(self.emotions):
            raise PtalkerError(f"whole_face.emotions: got {self.emotions}; expected distinct labels from "
                               f"{', '.join(EMOTIONS)}")
        _check_range("intensity", self.intensity, 0.0, 1.0)
        _check_range("gaze_activity", self.gaze_activity, 0.0, MAX_GAZE_ACTIVITY)
        _check_range("blink_duration", self.blink_duration, *BLINK_DURATION_BOUNDS)


@dataclass(frozen=True)
class SentenceEmotion:
    """The emotion of one sentence; neutral has intensity 0."""

    label: str
    intensity: float

    def to_json(self) -> dict:
        return {"label": self.label, "intensity": round(self.intensity, 6)}


def draw_habits(config: WholeFaceConfig, rng: np.random.Generator) -> FaceHabits:
    """A speaker's gaze activity and blink length, uniform in the config's ranges."""
    return FaceHabits(gaze_activity=float(rng.uniform(*config.gaze_activity)),
                      blink_duration=float(rng.uniform(*config.blink_duration)))


def sentence_emotions(config: WholeFaceConfig, numbers: list[int],
                      rng: np.random.Generator) -> dict[int, SentenceEmotion]:
    """{sentence number: emotion} for one speaker's ``numbers``: the labels in a seeded order,
    repeated (so each label gets len(numbers) / len(labels) sentences, +-1), intensities uniform."""
    order = rng.permutation(len(config.emotions))
    emotions = {}
    for slot, number in enumerate(numbers):
        label = config.emotions[int(order[slot % len(order)])]
        intensity = float(rng.uniform(*config.intensity))  # drawn for neutral too: the draws stay aligned
        emotions[number] = SentenceEmotion(label, 0.0 if label == "neutral" else intensity)
    return emotions


def emotional_voice(voice: Voice, emotion: SentenceEmotion) -> Voice:
    """``voice`` with pitch, range and rate moved by the emotion (clipped to espeak's limits)."""
    change, amount = EMOTION_PROSODY[emotion.label], emotion.intensity
    pitch = np.clip(round(voice.pitch + amount * change.pitch), PERCENT_MIN, PERCENT_MAX)
    pitch_range = np.clip(round(voice.pitch_range + amount * change.pitch_range), PERCENT_MIN, PERCENT_MAX)
    rate = np.clip(round(voice.rate_wpm * (1.0 + amount * (change.rate - 1.0))), RATE_MIN_WPM, RATE_MAX_WPM)
    return dataclasses.replace(voice, pitch=int(pitch), pitch_range=int(pitch_range), rate_wpm=int(rate))


def blink_closure(speech: Speech, rate_hz: float, duration_scale: float, times_s: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """(T,) 0..1 lid closure at frame times ``times_s`` (T,): blinks at ``rate_hz``, preferring the
    starts of the timeline's pauses, each ``duration_scale`` times as long as the procedural blink."""
    pauses = [(p.start_s, p.end_s) for p in speech.phonemes if p.is_pause and p.end_s > p.start_s]
    starts = blink_times(speech.duration_s, rate_hz * SECONDS_PER_MINUTE, rng, pauses)  # (N,)
    return blink_curve(times_s / duration_scale, starts / duration_scale)  # time scaled: longer blinks


def eye_pose(gaze_deg: np.ndarray) -> np.ndarray:
    """(T, 6) FLAME eye_pose (left, then right eye axis-angle) for gaze (T, 2) yaw, pitch degrees."""
    rotvec = Rotation.from_matrix(gaze_rotations(gaze_deg)).as_rotvec()  # (T, 3)
    return np.concatenate([rotvec, rotvec], axis=1).astype(np.float32)


def add_whole_face(params: MotionParams, speech: Speech, blink_rate_hz: float, habits: FaceHabits,
                   emotion: SentenceEmotion, controls: dict[str, np.ndarray], expression_names: list[str],
                   fps: float, rng: np.random.Generator) -> MotionParams:
    """``params`` (made with ``seeded_blinks=False``) with the emotion's expression, blinks and gaze.

    ``controls`` is :func:`ptalker.flame.expressions.control_expressions` of the head: {name: (K,)}.
    """
    num_frames = len(params.expression)
    times = np.arange(num_frames) / fps
    offset = emotion.intensity * controls[emotion.label]  # (K,)
    expression = params.expression + offset[None].astype(np.float32)  # (T, K)
    closure = blink_closure(speech, blink_rate_hz, habits.blink_duration, times, rng)  # (T,)
    for name in BLINKS:
        column = expression_names.index(name)
        expression[:, column] += (closure * (1.0 - offset[column])).astype(np.float32)
    gaze = saccades(num_frames, fps, rng, habits.gaze_activity)  # (T, 2) degrees
    return dataclasses.replace(params, expression=expression, eye_pose=eye_pose(gaze))
