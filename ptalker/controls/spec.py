"""What a user may ask of the whole-face controls, checked, from Python or from the command line.

Python (``Animator.animate(..., controls=...)``, ``ptalker.load_model(...).animate``)::

    controls = {
        "pose": "generate" | {"amount": 0.5} | "from_clip" | (T, 3) rotation vectors (rad) | None,
        "gaze": "generate" | {"activity": 1.5} | "from_clip" | (T, 2) yaw, pitch (deg) | None,
        "blink": {"rate_per_min": 15} | "from_clip" | None,
        "emotion": {"label": "happy", "intensity": 0.7} | {"intensity": 0.7} (label from the voice)
                   | "from_voice" | "from_clip" | None,
        "clip": (T', V, 3) vertices or a .npy/.npz path (for 'from_clip'),
        "clip_template": (V, 3) the clip's person's neutral face (default: the face animated),
        "seed": 0,
    }

None (the default of every factor) leaves that factor as the lip model makes it: a still head,
eyes ahead, the model's own lids, no emotion offset. The lips always come from the audio.

Command line (``ptalker animate``): ``--pose generate|still|from_clip|FILE.npy``, ``--gaze
generate|ahead|from_clip|FILE.npy``, ``--blink RATE_PER_MIN|from_clip``, ``--emotion
LABEL[:INTENSITY]|voice[:INTENSITY]|from_clip``, ``--control-clip CLIP.npy``, ``--control-seed N``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.flame.expressions import EMOTIONS

FROM_CLIP, GENERATE, FROM_VOICE = "from_clip", "generate", "from_voice"
KEYS = ("pose", "gaze", "blink", "emotion", "clip", "clip_template", "seed")
MAX_RATE_PER_MIN = 60.0
"""More than one blink a second is a twitch, not a blink rate."""
MAX_INTENSITY = 2.0


@dataclass(frozen=True)
class Emotion:
    label: str | None
    """One of EMOTIONS, or None: read from the voice."""
    intensity: float


@dataclass(frozen=True)
class Controls:
    """The checked controls (see module doc); every factor None = as the lip model makes it."""

    pose: str | float | np.ndarray | None = None
    """None, 'from_clip', a generate amount (float > 0), or (T, 3) rotation vectors in radians."""
    gaze: str | float | np.ndarray | None = None
    """None, 'from_clip', a generate activity (float > 0), or (T, 2) yaw, pitch in degrees."""
    blink: str | float | None = None
    """None, 'from_clip', or a rate in blinks per minute."""
    emotion: str | Emotion | None = None
    """None, 'from_clip', or an Emotion (label None: from the voice)."""
    clip: np.ndarray | str | Path | None = None
    """The reference clip of 'from_clip': (T', V, 3) vertices or a sequence file."""
    clip_template: np.ndarray | None = None
    """(V, 3) the clip's person's neutral face (an emotion is read against it)."""
    seed: int = 0
    """Seed of the generated factors."""

    @property
    def active(self) -> bool:
        return any(value is not None for value in (self.pose, self.gaze, self.blink, self.emotion))

    @property
    def needs_clip(self) -> bool:
        return FROM_CLIP in [value for value in (self.pose, self.gaze, self.blink, self.emotion)
                             if isinstance(value, str)]


def _number(value, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(value)) or not low <= float(value) <= high:
        raise PtalkerError(f"{where}: got {value!r}, expected a number in [{low:g}, {high:g}]")
    return float(value)


def _array(value, where: str, width: int, unit: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu" or array.ndim != 2 or array.shape[1] != width or not len(array):
        raise PtalkerError(f"{where}: expected a (T, {width}) array of {unit}, got {array.dtype} {array.shape}")
    if not np.isfinite(array).all():
        raise PtalkerError(f"{where}: holds NaN or infinite values; give finite {unit}")
    return array.astype(np.float64)


def _moving(value, key: str, knob: str, width: int, unit: str, limit: float):
    """pose / gaze: None, 'generate', {knob: x}, 'from_clip' or an array."""
    where = f"controls['{key}']"
    if value is None or (isinstance(value, str) and value == FROM_CLIP):
        return value
    if isinstance(value, str):
        if value != GENERATE:
            raise PtalkerError(f"{where}: '{value}' unknown; give '{GENERATE}', '{FROM_CLIP}', a (T, {width}) array "
                               "or None")
        return 1.0
    if isinstance(value, Mapping):
        if set(value) != {knob}:
            raise PtalkerError(f"{where}: expected {{'{knob}': number}}, got keys {sorted(value)}")
        return _number(value[knob], f"{where}['{knob}']", 0.0, 3.0)
    array = _array(value, where, width, unit)
    if np.abs(array).max() > limit:
        raise PtalkerError(f"{where}: values up to {np.abs(array).max():.3g} {unit}; keep them within +-{limit:g}")
    return array


def _blink(value):
    where = "controls['blink']"
    if value is None or value == FROM_CLIP:
        return value
    if isinstance(value, Mapping) and set(value) == {"rate_per_min"}:
        return _number(value["rate_per_min"], f"{where}['rate_per_min']", 0.0, MAX_RATE_PER_MIN)
    raise PtalkerError(f"{where}: expected {{'rate_per_min': number}}, '{FROM_CLIP}' or None, got {value!r}")


def _emotion(value):
    where = "controls['emotion']"
    if value is None or value == FROM_CLIP:
        return value
    if value == FROM_VOICE:
        return Emotion(None, 1.0)
    if isinstance(value, str) and value in EMOTIONS:
        return Emotion(value, 1.0)
    if isinstance(value, Mapping) and set(value) <= {"label", "intensity"} and value:
        label = value.get("label")
        if label is not None and label not in EMOTIONS:
            raise PtalkerError(f"{where}['label']: '{label}' unknown; choose one of {', '.join(EMOTIONS)} "
                               "(or leave it out to read it from the voice)")
        return Emotion(label, _number(value.get("intensity", 1.0), f"{where}['intensity']", 0.0, MAX_INTENSITY))
    raise PtalkerError(f"{where}: expected {{'label': one of {', '.join(EMOTIONS)}, 'intensity': 0..{MAX_INTENSITY:g}}}"
                       f", '{FROM_VOICE}', '{FROM_CLIP}' or None, got {value!r}")


def check_controls(controls: Mapping | Controls | None) -> Controls:
    """``controls`` (a mapping as the module doc shows, or Controls) checked; None -> no controls.

    Raises:
        PtalkerError: an unknown key or a value of the wrong kind, naming it and what is expected.
    """
    if controls is None:
        return Controls()
    if isinstance(controls, Controls):
        return controls
    if not isinstance(controls, Mapping):
        raise PtalkerError(f"controls: expected a dict with keys among {', '.join(KEYS)}, "
                           f"got {type(controls).__name__}")
    unknown = set(controls) - set(KEYS)
    if unknown:
        raise PtalkerError(f"controls: unknown key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(KEYS)}")
    seed = controls.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PtalkerError(f"controls['seed']: got {seed!r}, expected a non-negative integer")
    checked = Controls(pose=_moving(controls.get("pose"), "pose", "amount", 3, "radians", math.radians(60)),
                       gaze=_moving(controls.get("gaze"), "gaze", "activity", 2, "degrees", 40.0),
                       blink=_blink(controls.get("blink")), emotion=_emotion(controls.get("emotion")),
                       clip=controls.get("clip"), clip_template=controls.get("clip_template"), seed=int(seed))
    if checked.needs_clip and checked.clip is None:
        raise PtalkerError("controls: 'from_clip' needs controls['clip'], a vertex sequence of the head "
                           "(--control-clip CLIP.npy)")
    return checked


def _file_or(value: str, words: dict[str, object], option: str, expected: str):
    if value in words:
        return words[value]
    if Path(value).suffix.lower() == ".npy":
        from ptalker.fileio import load_npy

        return load_npy(value)
    raise PtalkerError(f"{option} {value}: expected {expected}")


def parse_control_options(pose: str | None = None, gaze: str | None = None, blink: str | None = None,
                          emotion: str | None = None, clip: str | None = None, seed: int = 0) -> dict:
    """The controls mapping of the command-line options (see module doc), unchecked."""
    controls: dict = {"seed": seed}
    if clip is not None:
        controls["clip"] = clip
    if pose is not None:
        controls["pose"] = _file_or(pose, {"generate": GENERATE, "still": None, FROM_CLIP: FROM_CLIP}, "--pose",
                                    "generate, still, from_clip or a .npy of (T, 3) rotation vectors in radians")
    if gaze is not None:
        controls["gaze"] = _file_or(gaze, {"generate": GENERATE, "ahead": None, FROM_CLIP: FROM_CLIP}, "--gaze",
                                    "generate, ahead, from_clip or a .npy of (T, 2) yaw, pitch in degrees")
    if blink is not None:
        if blink == FROM_CLIP:
            controls["blink"] = FROM_CLIP
        else:
            try:
                controls["blink"] = {"rate_per_min": float(blink)}
            except ValueError:
                raise PtalkerError(f"--blink {blink}: expected blinks per minute (e.g. 15) or from_clip") from None
    if emotion is not None:
        controls["emotion"] = _parse_emotion(emotion)
    return controls


def _parse_emotion(text: str):
    if text == FROM_CLIP:
        return FROM_CLIP
    label, _, intensity = text.partition(":")
    entry: dict = {} if label == "voice" else {"label": label}
    if intensity:
        try:
            entry["intensity"] = float(intensity)
        except ValueError:
            raise PtalkerError(f"--emotion {text}: '{intensity}' is not an intensity; e.g. happy:0.7") from None
    return entry or FROM_VOICE
