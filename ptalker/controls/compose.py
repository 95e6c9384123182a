"""Put the checked controls (:mod:`ptalker.controls.spec`) on an animation of the lips.

:func:`apply_controls` takes the lip model's head-stabilized frames and adds, in order, the
emotion offset, blinks, gaze and head pose (:class:`ptalker.controls.rig.FaceRig`). Each factor
has its own random stream (seed, factor), so changing one factor never changes another's motion,
and each touches only its own vertices or, for head pose, moves the face rigidly: the lips stay
what the audio made them (the emotion adds its lasting offset to the whole face).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.controls import procedural
from ptalker.controls.factors import Factors, clip_factors
from ptalker.controls.rig import FaceRig
from ptalker.controls.spec import FROM_CLIP, Controls, Emotion
from ptalker.errors import PtalkerError
from ptalker.mesh.sequence_file import load_sequence
from ptalker.metrics.face_measures import audio_envelope

PAUSE_LEVEL = 0.1
"""A frame is silent when its loudness is under this fraction of the clip's 95th percentile."""
MIN_PAUSE_S = 0.15
"""Shorter silences are gaps between words, not phrase boundaries."""
STREAMS = {"pose": 1, "gaze": 2, "blink": 3}
"""Each generated factor's random stream: numpy Generator seeded with (seed, stream)."""
BLINK_LIKELY = 0.5
"""Frames where a learned model gives shut lids at least this probability are blink moments."""


@dataclass
class ControlReport:
    """What the controls did (the emotion read from the voice or a clip shows here)."""

    emotion: str | None = None
    emotion_intensity: float = 0.0
    blinks: int = 0


def speech_pauses(envelope: np.ndarray, fps: float) -> list[tuple[float, float]]:
    """(start, end) seconds of the silences of at least MIN_PAUSE_S in the loudness ``envelope``."""
    silent = envelope < PAUSE_LEVEL * max(float(np.percentile(envelope, 95)), 1e-12)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(int), [0]])))
    runs = edges.reshape(-1, 2)  # (N, 2) [start, end) frames of each silent run
    return [(start / fps, end / fps) for start, end in runs if (end - start) / fps >= MIN_PAUSE_S]


def _stretch(values: np.ndarray, num_frames: int) -> np.ndarray:
    """(T', ...) -> (num_frames, ...) by linear interpolation over the whole length."""
    if len(values) == num_frames:
        return values
    source = np.linspace(0.0, 1.0, len(values))
    target = np.linspace(0.0, 1.0, num_frames)
    flat = values.reshape(len(values), -1)
    return np.stack([np.interp(target, source, column) for column in flat.T], 1).reshape(num_frames, *values.shape[1:])


def _rows(array: np.ndarray, num_frames: int, key: str) -> np.ndarray:
    if len(array) != num_frames:
        raise PtalkerError(f"controls['{key}']: {len(array)} rows given, the animation has {num_frames} frames; "
                           "give one row per frame")
    return array


def _clip(controls: Controls, rig: FaceRig, template: np.ndarray) -> Factors:
    clip = controls.clip
    if not isinstance(clip, np.ndarray):
        clip = load_sequence(clip).vertices
    reference = template if controls.clip_template is None else np.asarray(controls.clip_template, np.float64)
    return clip_factors(clip, rig, reference)


def blink_moments(shut: np.ndarray | None, envelope: np.ndarray, fps: float) -> list[tuple[float, float]]:
    """Where blinks should fall: the frames a learned model finds likely (``shut`` (T,)
    probabilities of shut lids), else the pauses."""
    if shut is None:
        return speech_pauses(envelope, fps)
    peaks, _ = find_peaks(shut, height=BLINK_LIKELY, distance=max(1, int(fps * 0.5)))
    return [(peak / fps, peak / fps) for peak in peaks]


def apply_controls(frames: np.ndarray, audio: np.ndarray, fps: float, controls: Controls, rig: FaceRig,
                   template: np.ndarray, shut: np.ndarray | None = None) -> tuple[np.ndarray, ControlReport]:
    """``frames`` (T, V, 3), head-stabilized, of speech ``audio`` (S,) float32 at 16 kHz, with the
    ``controls`` on; ``template`` (V, 3) is the animated person's neutral face; ``shut`` (T,): a
    learned model's probability of shut lids per frame, which places the blinks (else the pauses
    do; :mod:`ptalker.pipelines.blink_moments`). Returns the frames (T, V, 3) float32 and what
    was done."""
    num_frames = len(frames)
    out = np.asarray(frames, np.float64)
    report = ControlReport()
    factors = _clip(controls, rig, template) if controls.needs_clip else None
    envelope = audio_envelope(audio, AUDIO_SAMPLE_RATE_HZ, fps, num_frames)  # (T,) RMS per frame

    emotion = controls.emotion
    if emotion == FROM_CLIP:
        emotion = Emotion(factors.emotion_label, factors.emotion.get(factors.emotion_label, 0.0))
    elif isinstance(emotion, Emotion) and emotion.label is None:
        from ptalker.controls.voice_emotion import emotion_from_voice

        emotion = Emotion(emotion_from_voice(audio).label, emotion.intensity)
    if isinstance(emotion, Emotion):
        out = rig.add_emotion(out, emotion.label, emotion.intensity)
        report.emotion, report.emotion_intensity = emotion.label, emotion.intensity

    if controls.blink == FROM_CLIP:
        out = rig.add_blinks(out, _stretch(factors.blink, num_frames))
    elif controls.blink is not None:
        rng = np.random.default_rng([controls.seed, STREAMS["blink"]])
        starts = procedural.blink_times(num_frames / fps, controls.blink, rng, blink_moments(shut, envelope, fps))
        out = rig.add_blinks(out, procedural.blink_curve(np.arange(num_frames) / fps, starts))
        report.blinks = len(starts)

    if controls.gaze is not None:
        if isinstance(controls.gaze, np.ndarray):
            gaze = _rows(controls.gaze, num_frames, "gaze")
        elif controls.gaze == FROM_CLIP:
            gaze = _stretch(factors.gaze, num_frames)
        else:
            gaze = procedural.saccades(num_frames, fps, np.random.default_rng([controls.seed, STREAMS["gaze"]]),
                                       controls.gaze)
        out = rig.rotate_eyes(out, gaze)

    if controls.pose is not None:
        translation = None
        if isinstance(controls.pose, np.ndarray):
            rotation = _rows(controls.pose, num_frames, "pose")
        elif controls.pose == FROM_CLIP:
            rotation = _stretch(factors.rotation, num_frames)
            translation = _stretch(factors.translation, num_frames)
        else:
            driven = np.pad(procedural.nods(envelope, fps)[:, None], ((0, 0), (0, 2)))  # (T, 3) degrees
            rotation = procedural.head_pose(driven, fps, np.random.default_rng([controls.seed, STREAMS["pose"]]),
                                            controls.pose)
        out = rig.pose_head(out, rotation, translation)
    return out.astype(np.float32), report
