"""The head model's region masks (its FLAME_masks.pkl): the default regions of data on its topology,
and the face sets of the face measures.

The file format and the lip / upper-face conventions are :mod:`ptalker.mesh.regions`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.regions import FLAME_MASKS_FILE, RegionMasks


def default_region_masks(num_vertices: int) -> RegionMasks | None:
    """Region masks of the head model in use when none were given, or None.

    Looks at FLAME_masks.pkl in the configured FLAME directory (see ptalker.flame.flame_dir;
    the built-in stand-in head when no FLAME is configured) and returns them when their sets fit
    meshes of ``num_vertices`` vertices.
    """
    path = _default_masks_file()
    if not path.is_file():
        return None
    masks = RegionMasks.from_flame_masks(path)
    try:
        masks.check(num_vertices)
    except PtalkerError:
        return None  # a head model's masks do not apply to another topology
    return masks


def _default_masks_file() -> Path:
    from ptalker.flame.flame_dir import resolve_flame_dir

    return resolve_flame_dir() / FLAME_MASKS_FILE


def default_region_candidates() -> list[str]:
    """The files :func:`default_region_masks` looks at, for error messages."""
    return [f"{_default_masks_file()} (the head model's masks)"]


def head_face_sets(flame_dir: str | os.PathLike | None = None) -> FaceSets:
    """The face sets in the head model's FLAME_masks.pkl (``flame_dir``, else the configured FLAME,
    else the stand-in).

    Raises:
        PtalkerError: the head has no masks file, or its masks lack the paired sets.
    """
    from ptalker.flame.flame_dir import resolve_flame_dir

    path = resolve_flame_dir(flame_dir) / FLAME_MASKS_FILE
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; face measures need the head model's region masks")
    return FaceSets.from_masks(RegionMasks.from_flame_masks(path).all, str(path))
