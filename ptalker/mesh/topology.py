"""The mesh a model animates: a template, its triangles and its vertex regions.

Where a topology comes from: the head model's (:func:`ptalker.flame.flame_model.head_topology`),
or a data set's (:func:`ptalker.data.topology.data_topology`: its own triangles and region files,
or the head model's when the data are on its mesh). Checkpoints store the topology
(:meth:`Topology.to_checkpoint`), so animating needs neither the head model nor the data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ptalker.errors import PtalkerError
from ptalker.mesh.regions import RegionMasks


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
