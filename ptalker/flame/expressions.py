"""Expression coefficients of the whole-face controls: the two blinks and the five emotions.

Each control is one (K,) vector of the head model's expression coefficients (K = its number of
expression components); a control at weight w adds ``w * vector`` to a frame's coefficients,
which, FLAME's expression blend shapes being linear, adds ``w * offset`` to its vertices.

- The stand-in head has named components (``blink_left``, ``smile_left``, ...): its controls are
  the combinations in :data:`STANDIN_CONTROLS`.
- A real FLAME has PCA components without names: its controls are read from
  ``control_expressions.json`` in its directory, ``{"blink_left": [K numbers], ...}`` with every
  name of :data:`CONTROL_NAMES` (fit them once from a few labelled frames, e.g. with
  ``ptalker fit`` on a blink and on a smile of the person).

>>> vectors = control_expressions(FlameModel.load())   # {'blink_left': (K,), ..., 'surprised': (K,)}
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.flame.flame_model import FlameModel

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised")
"""Emotion labels, neutral first (its vector is zero: intensity 0 of any emotion is neutral)."""
BLINKS = ("blink_left", "blink_right")
CONTROL_NAMES = BLINKS + EMOTIONS
CONTROLS_FILE = "control_expressions.json"

STANDIN_CONTROLS: dict[str, dict[str, float]] = {
    "blink_left": {"blink_left": 1.0},
    "blink_right": {"blink_right": 1.0},
    "neutral": {},
    "happy": {"smile_left": 0.9, "smile_right": 0.9, "cheek_puff_left": 0.15, "cheek_puff_right": 0.15,
              "brow_raise": 0.15},
    "sad": {"frown": 0.9, "brow_furrow": 0.5, "blink_left": 0.2, "blink_right": 0.2},
    "angry": {"brow_furrow": 1.0, "nose_wrinkle": 0.6, "lip_press": 0.3, "frown": 0.2},
    "surprised": {"brow_raise": 1.0, "blink_left": -0.25, "blink_right": -0.25},
}
"""The stand-in's controls at weight 1 as {component name: coefficient}. Emotions stay off the
lip gap where they can (no lips_part, jaw or lower-lip components) so that the lips keep
following the audio: the mouth shows an emotion through its corners and the cheeks."""


def control_expressions(model: FlameModel) -> dict[str, np.ndarray]:
    """{name: (K,) float32 coefficients} for every name of :data:`CONTROL_NAMES`.

    Raises:
        PtalkerError: a head without the stand-in's named components and without a valid
            control_expressions.json.
    """
    names = model.expression_names
    if all(component in names for table in STANDIN_CONTROLS.values() for component in table):
        return {name: model.expression_vector(**table).numpy().astype(np.float32)
                for name, table in STANDIN_CONTROLS.items()}
    path = Path(model.flame_dir) / CONTROLS_FILE
    data = read_coefficients(path, len(names), f"blinks and emotions on this head model need its expression "
                                               f"coefficients for {', '.join(CONTROL_NAMES)}")
    missing = [name for name in CONTROL_NAMES if name not in data]
    if missing:
        raise PtalkerError(f"{path}: no {', '.join(missing)}; give the head's expression coefficients for each of "
                           f"{', '.join(CONTROL_NAMES)}")
    vectors = {name: data[name].astype(np.float32) for name in CONTROL_NAMES}
    if np.any(vectors["neutral"]):
        raise PtalkerError(f"{path}: 'neutral' must be all zeros (intensity 0 of every emotion is neutral)")
    return vectors


def read_coefficients(path: Path, size: int, needed: str) -> dict[str, np.ndarray]:
    """{name: (size,) float64} from the JSON object at ``path`` ({name: [size finite numbers]});
    ``needed`` says in the missing-file error what the file is for.

    Raises:
        PtalkerError: a missing or unreadable file, or a value that is not a list of ``size`` finite numbers.
    """
    expected = f"{{name: [{size} finite numbers]}}"
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; {needed} as JSON, {expected}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PtalkerError(f"{path}: not readable JSON ({err}); expected {expected}") from None
    if not isinstance(data, dict):
        raise PtalkerError(f"{path}: expected a JSON object, {expected}")
    for name, values in data.items():
        if not isinstance(values, list) or len(values) != size or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise PtalkerError(f"{path}: '{name}' must be a list of {size} finite numbers (the head's expression "
                               "coefficients for it)")
    return {name: np.asarray(values, np.float64) for name, values in data.items()}

