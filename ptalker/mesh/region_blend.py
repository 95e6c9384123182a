"""Soft blend weights of a head's three editing regions: the mouth and jaw, the upper face
(eyes and brows), and the rest.

Editing composes per-region results vertex by vertex (``sum_r weights[r] * result_r``), so the
weights form a partition of unity over the vertices: (3, V), every column sums to 1, each entry
in [0, 1]. The mouth's weight is 1 on the mouth set (the region file's ``mouth`` set, else its
lips) and on vertices fully skinned to the jaw (the head model's jaw skinning weight, when
given), and falls off smoothly to 0 within ``MOUTH_FALLOFF_M`` of the mouth set; the upper
face's weight is 1 on the upper-face set (forehead and eye region, the FDD set) and falls off
within ``UPPER_FALLOFF_M``. Where both reach, they are scaled to sum to 1; the rest takes what
is left. Vertices far from both (scalp, neck, ears) belong to the rest alone, with weights of
exactly 0 for the mouth and the upper face, so edits there leave them bit-identical.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ptalker.errors import PtalkerError
from ptalker.mesh.regions import RegionMasks

REGIONS = ("mouth", "upper", "rest")
"""The editing regions, in the order of the rows of :func:`region_blend_weights`."""
MOUTH_FALLOFF_M = 0.02
"""Distance from the mouth set over which the mouth's weight falls from 1 to 0 (metres)."""
UPPER_FALLOFF_M = 0.02
"""Distance from the upper-face set over which its weight falls from 1 to 0 (metres)."""


def _falloff(template: np.ndarray, core: np.ndarray, distance_m: float) -> np.ndarray:
    """(V,) 1 on the ``core`` vertex ids, a quintic smoothstep down to exactly 0 at
    ``distance_m`` from the nearest core vertex, 0 beyond."""
    distance, _ = cKDTree(template[core]).query(template)  # (V,)
    u = np.clip(distance / distance_m, 0.0, 1.0)
    weight = 1.0 - (10 * u**3 - 15 * u**4 + 6 * u**5)
    weight[core] = 1.0
    return weight


def region_blend_weights(template: np.ndarray, masks: RegionMasks,
                         jaw_weights: np.ndarray | None = None) -> np.ndarray:
    """(3, V) float32 blend weights of :data:`REGIONS` on the neutral mesh ``template`` (V, 3),
    from its region ``masks`` and, optionally, the head model's per-vertex jaw skinning weights
    ``jaw_weights`` (V,) in [0, 1] (see the module docstring)."""
    template = np.asarray(template, dtype=np.float64)
    num_vertices = len(template)
    mouth_set = masks.all.get("mouth", masks.lips)
    if len(mouth_set) == 0 or len(masks.upper_face) == 0:
        raise PtalkerError(f"region masks ({masks.source}): the mouth/lips and upper-face sets must not be empty")
    mouth = _falloff(template, mouth_set, MOUTH_FALLOFF_M)
    if jaw_weights is not None:
        jaw = np.asarray(jaw_weights, dtype=np.float64)
        if jaw.shape != (num_vertices,):
            raise PtalkerError(f"jaw_weights: expected ({num_vertices},) skinning weights of this mesh, got {jaw.shape}")
        mouth = np.maximum(mouth, np.clip(jaw, 0.0, 1.0))
    upper = _falloff(template, masks.upper_face, UPPER_FALLOFF_M)
    total = mouth + upper
    over = total > 1.0
    mouth[over] /= total[over]
    upper[over] /= total[over]
    rest = np.clip(1.0 - mouth - upper, 0.0, 1.0)
    return np.stack([mouth, upper, rest]).astype(np.float32)
