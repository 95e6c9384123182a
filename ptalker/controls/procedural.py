"""Seeded generators of the motion that speech does not determine: blinks, gaze, head pose.

Every function takes frame times or a frame count and a numpy Generator and returns plain arrays;
the same seed gives the same motion. Conventions:

- blink closure: (T,) in [0, 1], 1 = lids shut;
- gaze: (T, 2) yaw (left +, the subject's left) and pitch (up +) in degrees;
- head pose: (T, 3) rotation vector (axis-angle, radians) about x (pitch, nod down +), y (yaw), z (roll).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

# --- blinks ------------------------------------------------------------------------------------
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.04, 0.16
"""A blink's closing, shut and opening phases (a human blink lasts 0.1-0.4 s)."""
BLINK_JITTER = 0.35
"""A blink falls anywhere in the middle +-35% of its share of the time (see :func:`blink_times`)."""

# --- gaze ---------------------------------------------------------------------------------------
FIXATION_MEAN_S = 1.2
"""Mean time the eyes rest between two saccades (gamma distributed, shape 3)."""
GAZE_STD_DEG = np.array([7.0, 4.0])
"""Spread of gaze targets, yaw and pitch; targets are clipped to GAZE_LIMIT_DEG."""
GAZE_LIMIT_DEG = np.array([20.0, 12.0])
SACCADE_BASE_S, SACCADE_PER_DEG_S = 0.025, 0.0022
"""Saccade duration = 25 ms + 2.2 ms per degree (the main sequence)."""

# --- head pose ----------------------------------------------------------------------------------
NOD_DEG = 2.5
"""Pitch of one nod at amount 1 (down, on a prominent syllable)."""
NOD_RISE_S, NOD_FALL_S = 0.12, 0.35
DRIFT_STD_DEG = np.array([3.0, 5.0, 2.0])
"""Standard deviation of slow drift about pitch, yaw, roll at amount 1."""
DRIFT_SMOOTH_S = 0.6
"""Width (Gaussian sigma) of the drift's smoothing: slower than speech."""
POSE_LIMIT_DEG = 30.0
"""Generated angles are squashed into +-this (tanh), so no control input leaves it."""
SYLLABLE_GAP_S = 0.2
"""Prominent syllables (nod candidates) are at least this far apart."""


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def blink_shape(times_s: np.ndarray, start_s: float) -> np.ndarray:
    """(T,) closure of one blink starting at ``start_s``: closing, held shut, opening."""
    closing = _ramp((times_s - start_s) / BLINK_CLOSE_S)
    opening = 1.0 - _ramp((times_s - start_s - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S)
    return closing * opening


def blink_times(duration_s: float, rate_per_min: float, rng: np.random.Generator,
                pauses: list[tuple[float, float]] = ()) -> np.ndarray:
    """(N,) blink start times in seconds, N = round(rate * duration / 60).

    The time is cut into N equal shares with a random offset; each blink falls in the middle
    +-BLINK_JITTER of its share, at the start of a pause (a phrase boundary) when one begins
    there, else at a random point. So the count over any minute is the requested rate (+-1),
    blinks never bunch, and they prefer phrase boundaries as people's do.
    """
    if rate_per_min <= 0 or duration_s <= 0:
        return np.zeros(0)
    share = 60.0 / rate_per_min
    offset = rng.uniform(0.0, share)
    times = []
    for centre in np.arange(offset - share / 2, duration_s, share):
        low, high = centre - BLINK_JITTER * share, centre + BLINK_JITTER * share
        at_pause = [start for start, _ in pauses if low <= start <= high]
        t = at_pause[0] if at_pause else rng.uniform(low, high)
        if 0.0 <= t < duration_s:
            times.append(t)
    return np.asarray(times)


def blink_curve(times_s: np.ndarray, starts_s: np.ndarray) -> np.ndarray:
    """(T,) closure over frame times ``times_s`` (T,) of blinks starting at ``starts_s`` (N,)."""
    curve = np.zeros_like(times_s, dtype=np.float64)
    for start in starts_s:
        curve = np.maximum(curve, blink_shape(times_s, float(start)))
    return curve


def saccades(num_frames: int, fps: float, rng: np.random.Generator, activity: float = 1.0) -> np.ndarray:
    """(T, 2) gaze yaw, pitch in degrees: fixations (gamma-distributed lengths, mean
    FIXATION_MEAN_S / activity) joined by saccades whose duration grows with their amplitude.
    ``activity`` 0 keeps the eyes straight ahead."""
    gaze = np.zeros((num_frames, 2))
    if activity <= 0 or num_frames == 0:
        return gaze
    times = np.arange(num_frames) / fps
    current, t = np.zeros(2), 0.0
    while t < times[-1]:
        t += rng.gamma(3.0, FIXATION_MEAN_S / activity / 3.0)
        target = np.clip(rng.normal(0.0, GAZE_STD_DEG), -GAZE_LIMIT_DEG, GAZE_LIMIT_DEG)
        duration = SACCADE_BASE_S + SACCADE_PER_DEG_S * float(np.linalg.norm(target - current))
        step = _ramp((times - t) / duration)[:, None]  # (T, 1) 0 before the saccade, 1 after
        gaze = gaze + step * (target - current)
        current, t = target, t + duration
    return gaze


def prominent_syllables(envelope: np.ndarray, fps: float) -> np.ndarray:
    """Frame indices of prominent syllables: peaks of the loudness ``envelope`` (T,) (any
    non-negative scale) that stand out by a third of its range, SYLLABLE_GAP_S apart."""
    if envelope.size < 3 or np.ptp(envelope) <= 0:
        return np.zeros(0, dtype=int)
    smooth = gaussian_filter1d(envelope.astype(np.float64), sigma=max(fps * 0.03, 0.5))
    peaks, _ = find_peaks(smooth, prominence=np.ptp(smooth) / 3.0,
                          distance=max(1, int(round(SYLLABLE_GAP_S * fps))))
    return peaks


def head_drift(num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) degrees of slow drift about pitch, yaw, roll: Gaussian-smoothed noise (sigma
    DRIFT_SMOOTH_S) with standard deviations DRIFT_STD_DEG."""
    noise = gaussian_filter1d(rng.normal(size=(num_frames, 3)), sigma=DRIFT_SMOOTH_S * fps, axis=0, mode="reflect")
    return noise / max(float(noise.std()), 1e-9) * DRIFT_STD_DEG


def nods(envelope: np.ndarray, fps: float) -> np.ndarray:
    """(T,) degrees of pitch: a nod (down, then back) on each prominent syllable of the loudness
    ``envelope`` (T,)."""
    times = np.arange(len(envelope)) / fps
    pitch = np.zeros(len(envelope))
    for peak in prominent_syllables(envelope, fps):
        rise = _ramp((times - times[peak] + NOD_RISE_S) / NOD_RISE_S)
        fall = 1.0 - _ramp((times - times[peak]) / NOD_FALL_S)
        pitch = np.maximum(pitch, NOD_DEG * rise * fall)
    return pitch


def head_pose(speech_deg: np.ndarray, fps: float, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """(T, 3) head rotation vectors (radians): the speech-driven motion ``speech_deg`` (T, 3)
    degrees (nods: :func:`nods`, or a learned model's) plus slow drift (:func:`head_drift`), scaled
    by ``amount`` (0 = still) and squashed into +-POSE_LIMIT_DEG."""
    num_frames = len(speech_deg)
    if amount <= 0 or num_frames == 0:
        return np.zeros((num_frames, 3))
    degrees = amount * (np.asarray(speech_deg, np.float64) + head_drift(num_frames, fps, rng))
    return np.radians(POSE_LIMIT_DEG * np.tanh(degrees / POSE_LIMIT_DEG))
