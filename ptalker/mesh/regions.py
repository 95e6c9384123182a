"""Named vertex regions of a mesh: the lip and upper-face sets of LVE and FDD, and any others.

Two conventions exist in the field:

- FLAME_masks.pkl (VOCASET, FLAME topology): a dict of named index arrays (``lips``,
  ``forehead``, ``eye_region``, ``face``, ``left_eyeball``, ...). Lips = ``lips``; upper face =
  the sorted unique union of ``forehead`` and ``eye_region``.
- Index files (BIWI, CodeTalker's ``regions/``): ``lve.txt`` (lips) and ``fdd.txt`` (upper face),
  integers separated by ", ". Read in file order, duplicates kept, as the field's scripts do.

Which set was used is part of every reported number: :attr:`RegionMasks.source` says so (see
docs/architecture.md, "Metric protocol").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.safe_pickle import load_pickle

FLAME_MASKS_FILE = "FLAME_masks.pkl"


LIPS_KEY = "lips"


UPPER_FACE_KEYS = ("forehead", "eye_region")


LVE_INDEX_FILE = "lve.txt"


FDD_INDEX_FILE = "fdd.txt"


_SEPARATORS = re.compile(r"[,\s]+")


@dataclass
class RegionMasks:
    """Vertex index sets of one mesh topology."""

    lips: np.ndarray
    """(L,) int64 lip vertex indices (LVE)."""
    upper_face: np.ndarray
    """(U,) int64 upper-face vertex indices (FDD)."""
    source: str
    """Where the sets come from, e.g. 'FLAME_masks.pkl: lips; forehead+eye_region'."""
    all: dict[str, np.ndarray] = field(default_factory=dict)
    """Every named region of a FLAME_masks.pkl, each (N,) int64; empty for index files."""

    @classmethod
    def from_flame_masks(cls, path: str | os.PathLike) -> "RegionMasks":
        """Read FLAME_masks.pkl (through the restricted unpickler).

        Raises:
            PtalkerError: missing or unsafe file, not a dict, missing keys, or non-integer sets.
        """
        path = Path(path)
        data = load_pickle(path)
        if not isinstance(data, dict):
            raise PtalkerError(f"{path}: expected a dict of region name -> vertex indices, got "
                               f"{type(data).__name__}; pass FLAME_masks.pkl from the FLAME download")
        missing = [key for key in (LIPS_KEY, *UPPER_FACE_KEYS) if key not in data]
        if missing:
            raise PtalkerError(f"{path}: no region(s) {', '.join(missing)} among "
                               f"{', '.join(map(str, data)) or 'no keys'}; pass FLAME_masks.pkl "
                               "from the FLAME download, or index files with --regions")
        regions = {str(key): _as_indices(value, f"{path} ['{key}']") for key, value in data.items()}
        upper = np.unique(np.concatenate([regions[key] for key in UPPER_FACE_KEYS]))
        source = f"{path.name}: {LIPS_KEY}; {'+'.join(UPPER_FACE_KEYS)} (sorted unique union)"
        return cls(lips=regions[LIPS_KEY], upper_face=upper, source=source, all=regions)

    @classmethod
    def from_index_files(cls, lve_path: str | os.PathLike, fdd_path: str | os.PathLike) -> "RegionMasks":
        """Read lip (``lve.txt``) and upper-face (``fdd.txt``) index files.

        Integers separated by commas and/or whitespace; order and duplicates kept.

        Raises:
            PtalkerError: a missing file, a token that is not an integer, or an empty file.
        """
        lips = read_index_file(lve_path)
        upper = read_index_file(fdd_path)
        source = f"index files: {Path(lve_path).name} (lips); {Path(fdd_path).name} (upper face)"
        return cls(lips=lips, upper_face=upper, source=source)

    @classmethod
    def from_regions_dir(cls, folder: str | os.PathLike) -> "RegionMasks":
        """Read ``folder/lve.txt`` and ``folder/fdd.txt`` (CodeTalker's ``regions/`` folder)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise PtalkerError(f"{folder}: regions folder not found; pass a folder holding "
                               f"{LVE_INDEX_FILE} and {FDD_INDEX_FILE}")
        return cls.from_index_files(folder / LVE_INDEX_FILE, folder / FDD_INDEX_FILE)

    def check(self, num_vertices: int, source: str = "the meshes") -> None:
        """Make sure both sets are non-empty and index meshes of ``num_vertices`` vertices.

        Args:
            num_vertices: vertex count of the meshes to be scored.
            source: what those meshes are, for the message (e.g. 'DATA/templates.pkl').

        Raises:
            PtalkerError: an empty set or an index outside 0..num_vertices-1.
        """
        for name, indices in (("lip", self.lips), ("upper-face", self.upper_face)):
            if indices.size == 0:
                raise PtalkerError(f"{self.source}: the {name} vertex set is empty; "
                                   "use region files that list vertex indices")
            low, high = int(indices.min()), int(indices.max())
            if low < 0 or high >= num_vertices:
                raise PtalkerError(
                    f"{self.source}: {name} indices span {low}..{high} but {source} has "
                    f"{num_vertices} vertices; use the region files of that mesh topology"
                )

    def describe(self) -> dict:
        """A JSON-ready summary: source and the size of each set."""
        return {"source": self.source, "lips": int(self.lips.size),
                "upper_face": int(self.upper_face.size)}


def _as_indices(value: object, what: str) -> np.ndarray:
    """A 1-D int64 index array from a pickled region value."""
    array = np.asarray(value)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.number) or not np.all(array == np.round(array)):
            raise PtalkerError(f"{what}: expected integer vertex indices, got dtype {array.dtype}; "
                               "the masks file is not a region file")
    return array.astype(np.int64).ravel()


def read_index_file(path: str | os.PathLike) -> np.ndarray:
    """Read integers separated by commas and/or whitespace as a (N,) int64 array.

    Raises:
        PtalkerError: missing file, a non-integer token, or no integers at all.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: index file not found; a regions folder holds {LVE_INDEX_FILE} "
                           f"and {FDD_INDEX_FILE} (integers separated by ', ')")
    tokens = [token for token in _SEPARATORS.split(path.read_text()) if token]
    try:
        indices = np.array([int(token) for token in tokens], dtype=np.int64)
    except ValueError as err:
        raise PtalkerError(f"{path}: expected integers separated by ', ' ({err}); "
                           "fix the file or re-create it from the mesh") from None
    if indices.size == 0:
        raise PtalkerError(f"{path}: no vertex indices in the file; expected integers separated by ', '")
    return indices
