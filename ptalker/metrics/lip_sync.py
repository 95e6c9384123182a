"""Lip-sync measures timed by phonemes: does the mouth close where the speech says it must?

Plain array functions on a lip-gap curve (T,) (:func:`ptalker.metrics.face_measures.lip_gap`, in
the meshes' units) and phoneme spans (start_s, end_s) in seconds.

- Training-corpus checks (:func:`closure_gaps`): a closure (/p b m/) counts as sealed when the
  gap drops under CLOSED_GAP_M somewhere from MAX_LEAD_S before the phoneme to its end:
  articulation may run that far ahead of the sound (anticipation).
- Scores of any sequence against recognized or aligned phones (:func:`window_min`,
  :func:`span_max`, :func:`chance_rate`): the window is the phone +- SYNC_WINDOW_S, since
  recognized phone times are that uncertain.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CLOSED_GAP_M = 1.0e-3
"""Lips count as closed below a 1 mm gap."""


MAX_LEAD_S = 0.12


def frame_range(start_s: float, end_s: float, fps: float, num_frames: int) -> slice:
    """Frames whose instants i / fps fall in [start_s, end_s] (at least the nearest one)."""
    first = int(np.ceil(start_s * fps - 1e-9))
    last = int(np.floor(end_s * fps + 1e-9))
    if last < first:
        first = last = int(round(0.5 * (start_s + end_s) * fps))
    return slice(min(max(first, 0), num_frames - 1), min(max(last, 0), num_frames - 1) + 1)


def closure_gaps(gap: np.ndarray, spans: Iterable[tuple[float, float]], fps: float) -> np.ndarray:
    """(N,) the smallest lip gap of ``gap`` (T,) at ``fps`` from MAX_LEAD_S before each
    (start_s, end_s) span to its end (compare with CLOSED_GAP_M for sealed or not)."""
    return window_min(gap, spans, fps, before_s=MAX_LEAD_S, after_s=0.0)


SYNC_WINDOW_S = 0.04
"""Real-speech scores look from this long before a phone to this long after it."""
CHANCE_SHIFTS = 16
""":func:`chance_rate` averages over this many circular shifts of the gap curve."""


def window_min(gap: np.ndarray, spans: Iterable[tuple[float, float]], fps: float,
               before_s: float = SYNC_WINDOW_S, after_s: float = SYNC_WINDOW_S) -> np.ndarray:
    """(N,) the smallest value of ``gap`` (T,) at ``fps`` over each (start_s, end_s) span
    widened by ``before_s`` before it and ``after_s`` after it."""
    return np.array([gap[frame_range(start_s - before_s, end_s + after_s, fps, len(gap))].min()
                     for start_s, end_s in spans])


def span_max(gap: np.ndarray, spans: Iterable[tuple[float, float]], fps: float) -> np.ndarray:
    """(N,) the largest value of ``gap`` (T,) at ``fps`` within each span."""
    return np.array([gap[frame_range(start_s, end_s, fps, len(gap))].max() for start_s, end_s in spans])


def chance_rate(gap: np.ndarray, spans: list[tuple[float, float]], fps: float, below: float) -> float:
    """The share of ``spans`` whose :func:`window_min` is under ``below`` when the gap curve is
    shifted in time (circularly, by CHANCE_SHIFTS shifts spread over its length): what frames
    picked at random score. NaN without spans or with under two frames."""
    if not spans or len(gap) < 2:
        return float("nan")
    shifts = np.unique(np.linspace(1, len(gap) - 1, CHANCE_SHIFTS).round().astype(int))
    return float(np.mean([(window_min(np.roll(gap, k), spans, fps) < below).mean() for k in shifts]))
