"""The seam measure of edited spans: a jump at a border scores high, a smooth path about 1."""

from __future__ import annotations

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.metrics.seams import seam_jerk_ratio, window_jerk


def test_seam_ratio_sees_a_jump_at_a_border():
    t = np.arange(60, dtype=np.float64)
    path = np.stack([np.sin(0.3 * t), np.cos(0.2 * t), 0 * t], axis=1)[:, None]  # (60, 1, 3)
    assert window_jerk(path).shape == (57,)
    smooth = seam_jerk_ratio(path, 20, 40)
    jumped = path.copy()
    jumped[20:40] += 0.5
    assert smooth < 2.0 < 10 * smooth < seam_jerk_ratio(jumped, 20, 40)


def test_seam_ratio_errors():
    path = np.zeros((30, 2, 3))
    with pytest.raises(PtalkerError, match="span 10:12: expected at least 4 frames"):
        seam_jerk_ratio(path, 10, 12)
    with pytest.raises(PtalkerError, match="both borders lie at the ends"):
        seam_jerk_ratio(path, 0, 30)
