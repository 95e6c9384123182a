"""The mesh of a data set: its own triangles and regions, or the head model's.

- FLAME-topology data (VOCASET, the synthetic corpus) use the head model in use (a FLAME
  directory or the built-in stand-in): its template, faces and FLAME_masks.pkl (a
  ``ROOT/FLAME_masks.pkl`` of the data set replaces the head's masks).
- A data set of another topology (BIWI) carries its own: ``ROOT/faces.npy`` ((F, 3) triangles;
  ``ptalker data biwi`` writes it), its subjects' templates (their mean is the model's template)
  and its region files (the data set spec's convention, e.g. ``ROOT/regions/lve.txt``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ptalker.data.regions import resolve_region_masks
from ptalker.data.splits import DatasetSpec
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy
from ptalker.flame.flame_model import head_topology
from ptalker.mesh.regions import FLAME_MASKS_FILE, RegionMasks
from ptalker.mesh.topology import Topology

FACES_FILE = "faces.npy"
"""ROOT/faces.npy: the triangles of a data set that is not on the head model's topology."""


def data_topology(root: str | os.PathLike, spec: DatasetSpec, templates: dict[str, np.ndarray]) -> Topology:
    """The topology of the data set at ``root`` (``templates``: its subjects' (V, 3) neutral meshes):
    its own when ROOT/faces.npy exists, else the head model's, which must then have the data's
    vertex count.

    Raises:
        PtalkerError: unreadable faces, faces indexing past the templates, a vertex count the
            head model does not have, or no region files.
    """
    root = Path(root)
    count = next(iter(templates.values())).shape[0]
    if not (root / FACES_FILE).is_file():
        topology = head_topology()
        if topology.num_vertices != count:
            raise PtalkerError(f"{root}: meshes of {count} vertices, but the head model in use has "
                               f"{topology.num_vertices} (set PTALKER_FLAME_DIR to the FLAME directory of this "
                               f"data, or put the data's triangles in {root / FACES_FILE})")
        own_masks = root / FLAME_MASKS_FILE
        if own_masks.is_file():
            topology.masks = RegionMasks.from_flame_masks(own_masks)
        return topology
    faces = load_npy(root / FACES_FILE).astype(np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= count:
        raise PtalkerError(f"{root / FACES_FILE}: expected (F, 3) vertex indices below {count}, got shape "
                           f"{faces.shape}; write the triangles of the data's meshes")
    template = np.mean(np.stack(list(templates.values())), axis=0).astype(np.float32)
    return Topology(template, faces, resolve_region_masks(root, spec, count))
