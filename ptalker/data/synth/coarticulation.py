"""Coarticulation: blend phoneme targets into smooth, anticipatory channel curves.

Cohen & Massaro's dominance model: every phoneme segment i has, per channel c, a target value
T_ic and a dominance that is strongest (alpha_ic) over the segment and falls off exponentially
outside it, more slowly before it (anticipation) than after it (carry-over)::

    D_ic(t) = alpha_ic * exp(-d_i(t) / tau_side)      d_i(t): distance from t + lead to segment i
    x_c(t)  = sum_i D_ic(t) T_ic / sum_i D_ic(t)

``tau`` sets smoothness (a wider fall-off blends more neighbours); ``lead`` moves the whole
articulation earlier than the sound, as speakers' lips lead their voice.

Gesture channels (the lip seal and tuck) take the strongest gesture instead:
``x_c(t) = max_i T_ic * exp(-d_i(t) / (GESTURE_TAU_RATIO * tau_side))``, so a /b/ seals the lips
fully between open vowels and lets go quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ptalker.audio.timeline import Phoneme
from ptalker.data.synth.visemes import (
    CHANNELS,
    DIPHTHONG_SPLIT,
    GESTURE_CHANNELS,
    REST_SETTLE_S,
    Target,
    is_pause,
    targets_for,
)

ANTICIPATION_RATIO = 1.3
"""The fall-off before a segment is this many times slower than ``tau``..."""
CARRY_OVER_RATIO = 0.8
"""...and after it this many times."""
GESTURE_TAU_RATIO = 0.6
"""Lip seals and tucks form and release faster than the jaw and lip shape move."""


@dataclass(frozen=True)
class Segment:
    """One articulatory target over a stretch of time (seconds, on the audio's clock)."""

    start_s: float
    end_s: float
    target: Target
    symbol: str
    stress: int


def segments(phonemes: Sequence[Phoneme]) -> list[Segment]:
    """Segments of a phoneme timeline: diphthongs split in two, short lip seals widened.

    A target with ``min_hold_s`` longer than its segment is widened symmetrically around the
    segment's centre (espeak's /b/ can last 17 ms; a lip seal takes about 70 ms). A pause closes
    the lips in proportion to its length, fully from REST_SETTLE_S on.
    """
    out = []
    for ph in phonemes:
        targets = targets_for(ph.symbol)
        if is_pause(ph.symbol):
            settle = min(1.0, (ph.end_s - ph.start_s) / REST_SETTLE_S)
            rest = targets[0]
            targets = (Target({**rest.values, "closure": settle * rest.value("closure")}, rest.dominance),)
        bounds = [ph.start_s, ph.end_s]
        if len(targets) == 2:
            bounds.insert(1, ph.start_s + DIPHTHONG_SPLIT * (ph.end_s - ph.start_s))
        for target, start, end in zip(targets, bounds[:-1], bounds[1:]):
            if end - start < target.min_hold_s:
                centre = 0.5 * (start + end)
                start, end = centre - 0.5 * target.min_hold_s, centre + 0.5 * target.min_hold_s
            out.append(Segment(start, end, target, ph.symbol, ph.stress))
    return out


def blend(segs: Sequence[Segment], times_s: np.ndarray, tau_s: float, lead_s: float) -> dict[str, np.ndarray]:
    """Channel curves at ``times_s`` (T,): {channel: (T,)} with values in 0..1.

    Args:
        segs: the segments of one utterance, covering its whole duration.
        times_s: (T,) frame times in seconds.
        tau_s: dominance fall-off time constant (larger = smoother).
        lead_s: how far articulation runs ahead of the sound (>= 0).
    """
    starts = np.array([s.start_s for s in segs])  # (N,)
    ends = np.array([s.end_s for s in segs])
    values = np.array([[s.target.value(c) for c in CHANNELS] for s in segs])  # (N, C)
    alpha = np.array([[s.target.strength(c) for c in CHANNELS] for s in segs])  # (N, C)
    t = times_s[:, None] + lead_s  # (T, 1): what the mouth prepares at time t
    before = np.clip(starts[None] - t, 0.0, None)  # (T, N) distance to a segment still ahead
    after = np.clip(t - ends[None], 0.0, None)  # (T, N) distance to a segment already past
    falloff = np.exp(-before / (ANTICIPATION_RATIO * tau_s) - after / (CARRY_OVER_RATIO * tau_s))
    weights = falloff[:, :, None] * alpha[None]  # (T, N, C)
    curves = np.einsum("tnc,nc->ct", weights, values) / weights.sum(axis=1).T  # (C, T)
    gesture = np.exp(-before / (GESTURE_TAU_RATIO * ANTICIPATION_RATIO * tau_s)
                     - after / (GESTURE_TAU_RATIO * CARRY_OVER_RATIO * tau_s))  # (T, N)
    for c, channel in enumerate(CHANNELS):
        if channel in GESTURE_CHANNELS:
            curves[c] = (gesture * values[None, :, c]).max(axis=1)
    return dict(zip(CHANNELS, curves))
