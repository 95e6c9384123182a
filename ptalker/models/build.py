"""Which network a training config names: the architecture registry.

A training config names its ``architecture``; each architecture reads its own section of the
config (PTalker: ``model``, the FaceFormer baseline: ``faceformer``). Networks receive the mesh
as arrays; building one from a checkpoint is :func:`ptalker.pipelines.checkpoint.build_network`.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ptalker.errors import PtalkerError
from ptalker.models.faceformer import FaceFormer, FaceFormerConfig
from ptalker.models.flow_talker import FlowTalker, FlowTalkerConfig
from ptalker.models.ptalker import PTalker, PTalkerConfig

SECTIONS = {"ptalker": ("model", PTalkerConfig), "faceformer": ("faceformer", FaceFormerConfig),
            "flow": ("flow", FlowTalkerConfig)}
"""architecture -> (its section of the training config, the section's dataclass). The flow
talker also reads the ``model`` section: the PTalker it builds on."""
ARCHITECTURES = tuple(SECTIONS)


def check_architecture(name: str, where: str = "architecture") -> str:
    if name not in SECTIONS:
        raise PtalkerError(f"{where}: '{name}' unknown; choose one of {', '.join(ARCHITECTURES)}")
    return name


def build_model(architecture: str, config: PTalkerConfig | FaceFormerConfig | FlowTalkerConfig,
                template: np.ndarray, faces: np.ndarray, face_ids: np.ndarray | None = None,
                content: PTalkerConfig | None = None) -> nn.Module:
    """The untrained network ``architecture`` with sizes ``config`` on the mesh with neutral
    ``template`` (V, 3) and triangles ``faces`` (F, 3); ``face_ids`` (N,): the vertices of the face
    region (PTalker samples its mesh graph there; None: all vertices); ``content``: the sizes of
    the PTalker a flow talker builds on."""
    if check_architecture(architecture) == "faceformer":
        return FaceFormer(config, len(template))
    if architecture == "flow":
        if content is None:
            raise PtalkerError("architecture 'flow': give the sizes of its content PTalker (the 'model' section)")
        return FlowTalker(PTalker(content, template, faces, face_ids), config)
    return PTalker(config, template, faces, face_ids)
