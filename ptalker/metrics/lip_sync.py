"""Lip-sync measures timed by phonemes: does the mouth close where the speech says it must?

Plain array functions on a lip-gap curve (T,) (:func:`ptalker.metrics.face_measures.lip_gap`, in
the meshes' units) and phoneme spans in seconds. A closure (/p b m/) counts as sealed when the
gap drops under CLOSED_GAP_M somewhere from MAX_LEAD_S before the phoneme to its end:
articulation may run that far ahead of the sound (anticipation).
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
    return np.array([gap[frame_range(start_s - MAX_LEAD_S, end_s, fps, len(gap))].min() for start_s, end_s in spans])
