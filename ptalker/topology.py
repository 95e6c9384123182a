"""The mesh a model animates: a template, its triangles and its vertex regions.

- FLAME-topology data (VOCASET, the synthetic corpus) use the head model in use (a FLAME
  directory or the built-in stand-in): its template, faces and FLAME_masks.pkl.
- A data set of another topology (BIWI) carries its own: ``ROOT/faces.npy`` ((F, 3) triangles;
  ``ptalker data biwi`` writes it), its subjects' templates (their mean is the model's template)
  and its region files (the data set spec's convention, e.g. ``ROOT/regions/lve.txt``).

Checkpoints store the topology (:meth:`Topology.to_checkpoint`), so animating needs neither the
head model nor the data set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.data.splits import DatasetSpec
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy
from ptalker.flame.masks import RegionMasks
from ptalker.metrics.score import resolve_region_masks

FACES_FILE = "faces.npy"
"""ROOT/faces.npy: the triangles of a data set that is not on the head model's topology."""


@dataclass
class Topology:
    """One mesh topology."""

    template: np.ndarray
    """(V, 3) float32 neutral mesh (the mesh graph is sampled on it; the default face to animate)."""
    faces: np.ndarray
    """(F, 3) int64 triangles."""
    masks: RegionMasks
    """Vertex regions: ``lips`` and ``upper_face`` always; FLAME's named regions in ``all``
    (``face``, ``scalp``, ``lip_contact_upper``, ...) when the topology has them."""

    @property
    def num_vertices(self) -> int:
        return len(self.template)

    @classmethod
    def of_head(cls, flame_dir: str | os.PathLike | None = None) -> "Topology":
        """The head model's topology (see :mod:`ptalker.flame.flame_dir` for which head)."""
        from ptalker.flame.flame_model import FlameModel

        head = FlameModel.load(flame_dir)
        return cls(head.template.cpu().numpy().astype(np.float32), np.asarray(head.faces, np.int64),
                   RegionMasks.from_flame_masks(head.masks_path))

    @classmethod
    def of_data(cls, root: str | os.PathLike, spec: DatasetSpec, templates: dict[str, np.ndarray]) -> "Topology":
        """The topology of the data set at ``root``: its own when ROOT/faces.npy exists, else the
        head model's, which must then have the data's vertex count.

        Raises:
            PtalkerError: unreadable faces, faces indexing past the templates, a vertex count the
                head model does not have, or no region files.
        """
        root = Path(root)
        count = next(iter(templates.values())).shape[0]
        if not (root / FACES_FILE).is_file():
            topology = cls.of_head()
            if topology.num_vertices != count:
                raise PtalkerError(f"{root}: meshes of {count} vertices, but the head model in use has "
                                   f"{topology.num_vertices} (set PTALKER_FLAME_DIR to the FLAME directory of this "
                                   f"data, or put the data's triangles in {root / FACES_FILE})")
            own_masks = root / "FLAME_masks.pkl"
            if own_masks.is_file():
                topology.masks = RegionMasks.from_flame_masks(own_masks)
            return topology
        faces = load_npy(root / FACES_FILE).astype(np.int64)
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= count:
            raise PtalkerError(f"{root / FACES_FILE}: expected (F, 3) vertex indices below {count}, got shape "
                               f"{faces.shape}; write the triangles of the data's meshes")
        template = np.mean(np.stack(list(templates.values())), axis=0).astype(np.float32)
        return cls(template, faces, resolve_region_masks(root, spec, count))

    def to_checkpoint(self) -> dict:
        """Plain tensors and strings for a checkpoint (see :meth:`from_checkpoint`)."""
        def ids(values: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.asarray(values, np.int64))

        return {"template": torch.from_numpy(self.template), "faces": torch.from_numpy(self.faces),
                "lips": ids(self.masks.lips), "upper_face": ids(self.masks.upper_face),
                "regions": {name: ids(values) for name, values in self.masks.all.items()},
                "regions_source": self.masks.source}

    @classmethod
    def from_checkpoint(cls, data: dict, source: str) -> "Topology":
        """The topology a checkpoint stored (``source`` names the file in errors)."""
        if "template" not in data:
            raise PtalkerError(f"{source}: the checkpoint stores no mesh (written by an older ptalker); "
                               "train it again")
        masks = RegionMasks(lips=data["lips"].numpy(), upper_face=data["upper_face"].numpy(),
                            source=data["regions_source"],
                            all={name: ids.numpy() for name, ids in data["regions"].items()})
        return cls(data["template"].numpy().astype(np.float32), data["faces"].numpy(), masks)
