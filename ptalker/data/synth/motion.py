"""From a phoneme timeline and a speaking style to FLAME parameters per frame.

The channels of :mod:`ptalker.data.synth.coarticulation` drive the stand-in head's jaw and
named expression components, scaled by the speaker's style. Lip seals are made exact: for /p b m/
``lips_part`` is set, frame by frame, to what closes the lips against the current jaw and lip
shape (a per-speaker linear model of the lip gap, :class:`LipGapModel`); /f v/ bring the lower lip
up to just under the upper lip the same way. Brows rise and the head nods on stressed syllables;
blinks and head sway are seeded random processes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ptalker.audio.timeline import Phoneme, Speech
from ptalker.data.synth.coarticulation import blend, segments
from ptalker.data.synth.style import SpeakingStyle
from ptalker.errors import PtalkerError
from ptalker.flame.flame_model import FlameModel

# --- how channels become parameters (stand-in units: radians, component coefficients) ----------
JAW_OPEN_RAD = 0.18
"""Jaw rotation of a fully open vowel for an average speaker."""
PUCKER, STRETCH, APERTURE = 1.0, 0.9, 0.8
"""Coefficient of lip_pucker / lip_stretch_* / lips_part at channel value 1, average speaker."""
SMILE, FROWN = 0.8, 0.8
"""Coefficient of smile_* / frown at smile_bias +1 / -1."""
SIDEWAYS = 0.6
"""mouth_sideways per unit asymmetry at a fully open jaw (the mouth pulls to the busier side)."""
PRESS = 0.4
"""lip_press at full closure: sealed lips are pressed, not just touching."""
TUCK_RAISE = 0.3
"""upper_lip_raise at full tuck (the upper lip lifts off the lower one for /f v/)."""
SEAL_OVERLAP_M = 0.0005
"""A full seal closes the lip gap to minus this much (the lips compress)."""
TUCK_GAP_M = 0.001
"""A full tuck leaves this gap between the lower lip and the upper lip."""
COARTICULATION_TAU_S = 0.035
"""Dominance fall-off of an average speaker (smoothness 1)."""
LEAD_IN_S = 0.15
"""Silence put before every clip, so a speaker's lips can close for a first /p/ or /m/ before
the sound starts (anticipation reaches 100 ms, a seal lasts 70 ms)."""

# --- brows, head, blinks ----------------------------------------------------------------------
BROW_RAISE = 0.9
BROW_RISE_S, BROW_FALL_S = 0.12, 0.30
NOD_RAD = 0.03
"""Head pitch on a stressed syllable at head_motion 1."""
SWAY_RAD = np.array([0.03, 0.05, 0.02])
"""Standard deviation of slow head sway about x (pitch), y (yaw), z (roll) at head_motion 1."""
SWAY_HZ = (0.15, 0.9)
"""Frequency range of the sway's sinusoids."""
SWAY_WAVES = 4
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.04, 0.16
BLINK_REFRACTORY_S = 0.5
MIN_BLINK_WAIT_S = 0.05

GAP_COMPONENTS = ("lip_pucker", "lip_stretch_left", "lip_stretch_right", "lip_press", "upper_lip_raise",
                  "lower_lip_depress", "lower_lip_tuck", "lips_part", "smile_left", "smile_right",
                  "frown", "mouth_sideways")
REQUIRED_COMPONENTS = GAP_COMPONENTS + ("blink_left", "blink_right", "brow_raise")
JAW_PROBE_RAD = (0.05, 0.15)


def lip_gap_m(vertices: torch.Tensor, upper: np.ndarray, lower: np.ndarray) -> torch.Tensor:
    """(...,) mean vertical distance between paired upper- and lower-lip vertices (no head motion)."""
    return (vertices[..., upper, 1] - vertices[..., lower, 1]).mean(-1)


@dataclass
class LipGapModel:
    """The lip gap of one face as a function of the jaw and the mouth components.

    gap = g(jaw) + sum_k (per_unit_m[k] + per_unit_per_jaw_m[k] * jaw) * coefficient_k

    g is the parabola through the gaps at rest and at the two probe angles JAW_PROBE_RAD; the
    per-unit slopes are measured at both probe angles and interpolated in the jaw angle (the jaw
    turns the lower lip's displacements). Good to a few tenths of a millimetre in speech.
    """

    jaw_curve: tuple[float, float, float]
    """Coefficients (c0, c1, c2) of g(jaw) = c0 + c1 * jaw + c2 * jaw^2, metres."""
    per_unit_m: dict[str, float]
    """Gap change per unit coefficient at jaw 0 (extrapolated from the probes)."""
    per_unit_per_jaw_m: dict[str, float]

    @classmethod
    def fit(cls, model: FlameModel, shape: torch.Tensor, upper: np.ndarray, lower: np.ndarray) -> "LipGapModel":
        """Probe ``model`` with ``shape`` (the speaker's face) at rest and two jaw openings."""
        names = model.expression_names
        missing = [n for n in REQUIRED_COMPONENTS if n not in names]
        if missing:
            raise PtalkerError(f"head model {model.flame_dir}: no expression component(s) "
                               f"{', '.join(missing)}; the synthetic corpus needs the stand-in head")
        rows = 1 + len(GAP_COMPONENTS)  # per jaw angle: no component, then each component at 1
        probes = torch.zeros(2 * rows, len(names))  # (P, K)
        for row, name in enumerate(GAP_COMPONENTS, start=1):
            probes[[row, rows + row], names.index(name)] = 1.0
        jaw = torch.zeros(2 * rows, 3)
        jaw[:rows, 0], jaw[rows:, 0] = JAW_PROBE_RAD
        with torch.no_grad():
            rest = float(lip_gap_m(model(shape=shape).vertices, upper, lower))
            gaps = lip_gap_m(model(shape=shape, expression=probes, jaw_pose=jaw).vertices, upper, lower)
        gaps = gaps.double().numpy().reshape(2, rows)  # (jaw probe, row)
        angles = np.array([0.0, *JAW_PROBE_RAD])
        c2, c1, c0 = np.polyfit(angles, [rest, gaps[0, 0], gaps[1, 0]], 2)
        units = gaps[:, 1:] - gaps[:, :1]  # (2, components) per-unit change at each probe angle
        slope = (units[1] - units[0]) / (JAW_PROBE_RAD[1] - JAW_PROBE_RAD[0])
        at_zero = units[0] - slope * JAW_PROBE_RAD[0]
        model_fit = cls((float(c0), float(c1), float(c2)), dict(zip(GAP_COMPONENTS, at_zero.tolist())),
                        dict(zip(GAP_COMPONENTS, slope.tolist())))
        for name in ("lips_part", "lower_lip_tuck"):
            if abs(model_fit.per_unit_m[name]) < 1e-5:
                raise PtalkerError(f"head model {model.flame_dir}: '{name}' does not move the lips; "
                                   "the synthetic corpus needs the stand-in head")
        return model_fit

    def unit(self, name: str, jaw_rad: np.ndarray) -> np.ndarray:
        """(T,) gap change per unit of component ``name`` at jaw angles (T,)."""
        return self.per_unit_m.get(name, 0.0) + self.per_unit_per_jaw_m.get(name, 0.0) * jaw_rad

    def predict(self, jaw_rad: np.ndarray, coefficients: dict[str, np.ndarray]) -> np.ndarray:
        """(T,) predicted gap in metres for jaw (T,) and named coefficient curves (T,)."""
        c0, c1, c2 = self.jaw_curve
        gap = c0 + c1 * jaw_rad + c2 * jaw_rad ** 2
        for name, values in coefficients.items():
            gap = gap + self.unit(name, jaw_rad) * values
        return gap


@dataclass
class MotionParams:
    """FLAME parameters of one utterance, T frames."""

    expression: np.ndarray
    """(T, K) coefficients of the head's expression components."""
    jaw_pose: np.ndarray
    """(T, 3) axis-angle."""
    neck_pose: np.ndarray
    """(T, 3) axis-angle."""
    eye_pose: np.ndarray
    """(T, 6) left then right eye axis-angle (zero unless whole-face motion adds gaze)."""


def with_lead_in(speech: Speech, seconds: float = LEAD_IN_S) -> Speech:
    """``speech`` with ``seconds`` of silence before it: audio padded, timeline shifted, the
    first pause lengthened (or a pause added)."""
    samples = int(round(seconds * speech.sample_rate))
    shift = samples / speech.sample_rate
    phonemes = [dataclasses.replace(p, start_s=p.start_s + shift, end_s=p.end_s + shift) for p in speech.phonemes]
    if phonemes and phonemes[0].is_pause:
        phonemes[0] = dataclasses.replace(phonemes[0], start_s=0.0)
    else:
        phonemes.insert(0, Phoneme("_", 0, 0.0, shift, -1))
    words = [dataclasses.replace(w, start_s=w.start_s + shift, end_s=w.end_s + shift) for w in speech.words]
    waveform = np.concatenate([np.zeros(samples, speech.waveform.dtype), speech.waveform])
    return dataclasses.replace(speech, waveform=waveform, phonemes=phonemes, words=words)


def mouth_curves(speech: Speech, style: SpeakingStyle, times_s: np.ndarray, gap: LipGapModel) -> tuple[np.ndarray, dict]:
    """Jaw (T,) in radians and named mouth coefficient curves {name: (T,)}."""
    ch = blend(segments(speech.phonemes), times_s, COARTICULATION_TAU_S * style.smoothness,
               style.anticipation_ms / 1000.0)
    jaw = style.jaw_amplitude * JAW_OPEN_RAD * ch["jaw"]
    lips, left, right = style.lip_amplitude, 1.0 + style.asymmetry, 1.0 - style.asymmetry
    smile = max(style.smile_bias, 0.0) * SMILE
    curves = {
        "lip_pucker": lips * PUCKER * ch["round"],
        "lip_stretch_left": lips * STRETCH * ch["spread"] * left,
        "lip_stretch_right": lips * STRETCH * ch["spread"] * right,
        "lips_part": lips * APERTURE * ch["aperture"],
        "smile_left": np.full_like(jaw, smile * left), "smile_right": np.full_like(jaw, smile * right),
        "frown": np.full_like(jaw, max(-style.smile_bias, 0.0) * FROWN),
        "mouth_sideways": style.asymmetry * SIDEWAYS * ch["jaw"],
        "lip_press": PRESS * ch["closure"],
        "upper_lip_raise": TUCK_RAISE * ch["tuck"],
    }
    open_gap = np.clip(gap.predict(jaw, curves) - TUCK_GAP_M, 0.0, None)
    curves["lower_lip_tuck"] = ch["tuck"] * open_gap / -gap.unit("lower_lip_tuck", jaw)
    residual = gap.predict(jaw, curves) + SEAL_OVERLAP_M
    curves["lips_part"] = curves["lips_part"] - ch["closure"] * residual / gap.unit("lips_part", jaw)
    return jaw, curves


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def stress_pulses(speech: Speech, times_s: np.ndarray) -> np.ndarray:
    """(T,) 0..1: up before each primary-stressed vowel, held through it, down after it."""
    pulse = np.zeros_like(times_s)
    for ph in speech.phonemes:
        if ph.stress == 2:
            rise = _ramp((times_s - ph.start_s + BROW_RISE_S) / BROW_RISE_S)
            fall = 1.0 - _ramp((times_s - ph.end_s) / BROW_FALL_S)
            pulse = np.maximum(pulse, rise * fall)
    return pulse


def blink_curve(duration_s: float, rate_hz: float, times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T,) 0..1 lid closure: ``rate_hz`` blinks per second on average, at least
    BLINK_REFRACTORY_S apart (intervals: the refractory gap plus an exponential wait)."""
    curve = np.zeros_like(times_s)
    if rate_hz <= 0:
        return curve
    mean_wait_s = max(1.0 / rate_hz - BLINK_REFRACTORY_S, MIN_BLINK_WAIT_S)
    t = rng.uniform(0.0, 1.0 / rate_hz)
    while t < duration_s:
        closing = _ramp((times_s - t) / BLINK_CLOSE_S)
        opening = 1.0 - _ramp((times_s - t - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S)
        curve = np.maximum(curve, closing * opening)
        t += BLINK_REFRACTORY_S + rng.exponential(mean_wait_s)
    return curve


def head_sway(times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) slow sway in radians: a few random sinusoids per axis with std SWAY_RAD."""
    freq = rng.uniform(*SWAY_HZ, size=(3, SWAY_WAVES))  # (axes, waves)
    phase = rng.uniform(0.0, 2 * np.pi, size=(3, SWAY_WAVES))
    waves = np.sin(2 * np.pi * freq[None] * times_s[:, None, None] + phase[None])  # (T, 3, W)
    return waves.sum(-1) * SWAY_RAD / np.sqrt(SWAY_WAVES / 2.0)


def animate(speech: Speech, style: SpeakingStyle, expression_names: list[str], gap: LipGapModel,
            fps: float, rng: np.random.Generator, seeded_blinks: bool = True) -> MotionParams:
    """FLAME parameters for ``speech`` spoken in ``style``: T = round(duration * fps) frames.

    ``seeded_blinks`` False leaves the blink components at zero (and draws nothing for them):
    :mod:`ptalker.data.synth.whole_face` puts its own blinks there."""
    num_frames = max(1, int(round(speech.duration_s * fps)))
    times = np.arange(num_frames) / fps
    jaw, curves = mouth_curves(speech, style, times, gap)
    stress = stress_pulses(speech, times)
    sway = head_sway(times, rng)  # drawn before the blinks, whose number of draws depends on the rate
    blinks = blink_curve(speech.duration_s, style.blink_rate_hz if seeded_blinks else 0.0, times, rng)
    curves.update(brow_raise=BROW_RAISE * style.brow_activity * stress, blink_left=blinks, blink_right=blinks)
    expression = np.zeros((num_frames, len(expression_names)), dtype=np.float32)
    for name, curve in curves.items():
        expression[:, expression_names.index(name)] = curve
    neck = style.head_motion * sway
    neck[:, 0] += style.head_motion * NOD_RAD * stress
    zeros = np.zeros((num_frames, 3), dtype=np.float32)
    return MotionParams(expression=expression,
                        jaw_pose=np.stack([jaw, zeros[:, 0], zeros[:, 0]], 1).astype(np.float32),
                        neck_pose=neck.astype(np.float32), eye_pose=np.zeros((num_frames, 6), np.float32))
