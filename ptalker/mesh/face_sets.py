"""Vertex sets of a face that the face measures and head stabilisation need.

They come from a region dict such as FLAME_masks.pkl's (:class:`ptalker.mesh.regions.RegionMasks`
``.all``): paired lip-contact vertices (the i-th upper meets the i-th lower when the lips close),
paired eyelid vertices per eye, the two mouth corners, and the regions that move only with the
head (scalp and ears). The ptalker stand-in head has them all; a real FLAME model's masks have
the rigid regions (used to stabilise the head) but not the paired sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.mesh.checks import check_indices
from ptalker.mesh.regions import FLAME_MASKS_FILE

LIP_KEYS = ("lip_contact_upper", "lip_contact_lower")
LID_KEYS = (("left_lid_upper", "left_lid_lower"), ("right_lid_upper", "right_lid_lower"))
CORNERS_KEY = "mouth_corners"
RIGID_KEYS = ("scalp", "left_ear", "right_ear")
"""Regions that move only with the head. Not the nose: expressions (the stand-in's
nose_wrinkle, by about 3 mm) move it."""
LIPS_REGION_KEY = "lips"
BROWS_REGION_KEY = "forehead"


@dataclass
class FaceSets:
    """Vertex id sets the measures need (int64 arrays)."""

    lip_upper: np.ndarray
    """(P,) upper-lip contact ids; the i-th meets ``lip_lower[i]`` when the lips close."""
    lip_lower: np.ndarray
    lid_upper: tuple[np.ndarray, np.ndarray]
    """(left, right) upper-lid ids, each (P_eye,), paired with ``lid_lower``."""
    lid_lower: tuple[np.ndarray, np.ndarray]
    mouth_corners: np.ndarray
    """(2,) the left (+x) and the right (-x) mouth corner."""
    rigid: np.ndarray
    """(R,) ids that move only with the head (scalp and ears): used to remove head motion."""
    lips: np.ndarray
    """(L,) the lips region (jerk_ratio)."""
    brows: np.ndarray
    """(W,) the forehead region (brow_motion_mm)."""
    source: str = ""
    """Where the sets come from, for messages."""

    @classmethod
    def from_masks(cls, masks: dict[str, np.ndarray], source: str) -> "FaceSets":
        """The sets from a region dict such as FLAME_masks.pkl's (``source`` names it).

        Raises:
            PtalkerError: missing keys, unequal pairs, or not two mouth corners.
        """
        needed = [*LIP_KEYS, *(key for pair in LID_KEYS for key in pair), CORNERS_KEY,
                  *RIGID_KEYS, LIPS_REGION_KEY, BROWS_REGION_KEY]
        missing = [key for key in needed if key not in masks]
        if missing:
            raise PtalkerError(f"{source}: no region(s) {', '.join(missing)}; face measures need "
                               f"{', '.join(needed)} (the ptalker stand-in's {FLAME_MASKS_FILE} has "
                               "them; add the paired sets to a FLAME model's masks)")
        ids = {key: np.asarray(masks[key]).astype(np.int64).ravel() for key in needed}
        for upper, lower in (LIP_KEYS, *LID_KEYS):
            if ids[upper].size != ids[lower].size:
                raise PtalkerError(f"{source}: {upper} has {ids[upper].size} ids, {lower} "
                                   f"{ids[lower].size}; the paired sets must have equal length")
        if ids[CORNERS_KEY].size != 2:
            raise PtalkerError(f"{source}: {CORNERS_KEY} has {ids[CORNERS_KEY].size} ids, "
                               "expected 2 (left, right)")
        return cls(lip_upper=ids[LIP_KEYS[0]], lip_lower=ids[LIP_KEYS[1]],
                   lid_upper=tuple(ids[pair[0]] for pair in LID_KEYS),
                   lid_lower=tuple(ids[pair[1]] for pair in LID_KEYS),
                   mouth_corners=ids[CORNERS_KEY], rigid=rigid_region_ids(masks, source), lips=ids[LIPS_REGION_KEY],
                   brows=ids[BROWS_REGION_KEY], source=source)

    def check(self, num_vertices: int) -> None:
        """Raise PtalkerError unless every set is non-empty and indexes ``num_vertices`` vertices."""
        for name in ("lip_upper", "lip_lower", "lid_upper", "lid_lower", "mouth_corners", "rigid",
                     "lips", "brows"):
            ids = getattr(self, name)
            ids = np.concatenate(ids) if isinstance(ids, tuple) else ids
            check_indices(ids, num_vertices, f"{self.source or 'face sets'} {name}")


def rigid_region_ids(masks: dict[str, np.ndarray], source: str) -> np.ndarray:
    """(R,) the ids of ``masks``' regions that move only with the head (scalp and ears), for
    :func:`remove_head_motion`; ``source`` names the masks in the error when they lack them."""
    missing = [key for key in RIGID_KEYS if key not in masks]
    if missing:
        raise PtalkerError(f"{source}: no region(s) {', '.join(missing)}; removing head motion needs "
                           f"{', '.join(RIGID_KEYS)} (FLAME_masks.pkl has them)")
    return np.unique(np.concatenate([np.asarray(masks[key]).astype(np.int64).ravel() for key in RIGID_KEYS]))
