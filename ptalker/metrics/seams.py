"""How smoothly an edited span joins the frames around it.

The jerk of a frame window is the mean over the given vertices of |x[t+3] - 3 x[t+2] + 3 x[t+1]
- x[t]| (the third difference, metres per frame cubed). At a border b between kept and edited
frames, the border jerk is the largest jerk of the four windows starting at b-3 .. b (the three
that straddle the border and the first one past it); the seam ratio divides it by the median
jerk of the windows inside the span. Speech itself is jerky: an untouched performance scores a
median ratio of about 2 at arbitrary borders on the synthetic corpus (benchmarks/editing.py).
"""

from __future__ import annotations

import numpy as np

from ptalker.errors import PtalkerError

BORDER_WINDOWS = 4
"""Windows per border: those starting 3 frames before it up to the border frame."""


def window_jerk(positions: np.ndarray) -> np.ndarray:
    """(T - 3,) the mean |third difference| over the vertices of ``positions`` (T, N, 3)."""
    return np.linalg.norm(np.diff(np.asarray(positions, dtype=np.float64), n=3, axis=0), axis=-1).mean(axis=-1)


def seam_jerk_ratio(positions: np.ndarray, start: int, stop: int) -> float:
    """The larger border jerk of the span [start, stop) of ``positions`` (T, N, 3), over the median
    jerk inside the span (see the module docstring); borders at the sequence's ends are skipped.

    Raises:
        PtalkerError: a span with fewer than 4 frames or outside the sequence, or no inner border.
    """
    T = len(positions)
    if not (0 <= start and start + BORDER_WINDOWS <= stop <= T):
        raise PtalkerError(f"span {start}:{stop}: expected at least {BORDER_WINDOWS} frames inside 0:{T}")
    jerk = window_jerk(positions)  # (T - 3,)
    inside = float(np.median(jerk[start:stop - 3]))
    borders = [b for b in (start, stop) if 3 <= b <= T - 4]
    if not borders:
        raise PtalkerError(f"span {start}:{stop}: both borders lie at the ends of the sequence (T = {T})")
    border = max(float(jerk[b - 3:b + 1].max()) for b in borders)
    return border / max(inside, 1e-12)
