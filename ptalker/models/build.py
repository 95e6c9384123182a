"""Which network a config or checkpoint names, built on a mesh.

A training config names its ``architecture``; each architecture reads its own section of the
config (PTalker: ``model``, the FaceFormer baseline: ``faceformer``). Checkpoints keep the whole
training config, so they are rebuilt the same way.
"""

from __future__ import annotations

from torch import nn

from ptalker.config import from_dict
from ptalker.errors import PtalkerError
from ptalker.models.faceformer import FaceFormer, FaceFormerConfig
from ptalker.models.ptalker import PTalker, PTalkerConfig
from ptalker.topology import Topology

SECTIONS = {"ptalker": ("model", PTalkerConfig), "faceformer": ("faceformer", FaceFormerConfig)}
"""architecture -> (its section of the training config, the section's dataclass)."""
ARCHITECTURES = tuple(SECTIONS)


def check_architecture(name: str, where: str = "architecture") -> str:
    if name not in SECTIONS:
        raise PtalkerError(f"{where}: '{name}' unknown; choose one of {', '.join(ARCHITECTURES)}")
    return name


def build_model(architecture: str, config: PTalkerConfig | FaceFormerConfig, topology: Topology) -> nn.Module:
    """The untrained network ``architecture`` with sizes ``config`` on ``topology``'s mesh."""
    if check_architecture(architecture) == "faceformer":
        return FaceFormer(config, topology.num_vertices)
    return PTalker(config, topology.template, topology.faces, topology.masks.all.get("face"))


def model_from_checkpoint_config(config: dict, topology: Topology, where: str) -> nn.Module:
    """The network a checkpoint's training ``config`` (a dict) describes (weights not loaded);
    checkpoints from before the architecture key are PTalker."""
    architecture = check_architecture(config.get("architecture", "ptalker"), f"{where}: architecture")
    section, config_class = SECTIONS[architecture]
    return build_model(architecture, from_dict(config_class, config[section], f"{where}: {section}"), topology)
