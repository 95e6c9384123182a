"""Self-describing checkpoints: weights, the config that built them, the mesh topology, versions.

A checkpoint is one ``torch.save`` file of plain containers (read back with
``torch.load(weights_only=True)``: no code runs while loading) holding::

    format        CHECKPOINT_FORMAT
    ptalker       the package version that wrote it
    config        the training config as a dict (its 'model' entry builds the network)
    topology      the mesh (ptalker.mesh.topology.Topology.to_checkpoint: template, faces, regions),
                  plus "num_vertices" and "faces_sha1" (a hash of the faces) to tell meshes apart
    model         the state dict (floating tensors in ``weights_dtype``)
    extra         anything else the writer adds (optimizer state, epoch, metrics, speakers, ...)

Writing is atomic: an interrupted save leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from ptalker import __version__
from ptalker.config import from_dict
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.mesh.topology import Topology
from ptalker.models.build import SECTIONS, build_model, check_architecture
from ptalker.models.ptalker import PTalkerConfig

CHECKPOINT_FORMAT = "ptalker-checkpoint-1"


def faces_sha1(faces: np.ndarray) -> str:
    """Hash of a topology's triangles (as int64), to match checkpoints with meshes."""
    return hashlib.sha1(np.ascontiguousarray(np.asarray(faces, dtype=np.int64)).tobytes()).hexdigest()


def _cast(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """A state dict on the CPU with floating tensors in ``dtype`` (integer buffers untouched)."""
    return {name: t.detach().to("cpu", dtype) if t.is_floating_point() else t.detach().cpu()
            for name, t in state.items()}


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, config: dict, topology: Topology,
                    extra: dict | None = None, weights_dtype: torch.dtype = torch.float32) -> None:
    """Write a checkpoint (see module docstring) atomically."""
    state = _cast(model.state_dict(), weights_dtype)
    mesh = {"num_vertices": topology.num_vertices, "faces_sha1": faces_sha1(topology.faces),
            **topology.to_checkpoint()}
    data = {"format": CHECKPOINT_FORMAT, "ptalker": __version__, "config": config, "topology": mesh,
            "model": state, "extra": extra or {}}
    with atomic_open(path, "wb") as handle:
        torch.save(data, handle)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint (weights_only: only tensors and plain containers are accepted).

    Raises:
        PtalkerError: missing file, not a ptalker checkpoint, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: checkpoint not found; train one with 'ptalker train' or leave "
                           "--checkpoint out for the default")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or foreign files
        raise PtalkerError(f"{path}: not a readable checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise PtalkerError(f"{path}: not a ptalker checkpoint (expected format {CHECKPOINT_FORMAT})")
    return data


def load_state(model: torch.nn.Module, checkpoint: dict) -> None:
    """Strict state-dict loading, cast to the model's dtype.

    Raises:
        PtalkerError: the weights do not fit the network (missing, extra or reshaped tensors).
    """
    target = model.state_dict()
    state = {name: value.to(target[name].dtype) if name in target else value
             for name, value in checkpoint["model"].items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise PtalkerError(f"checkpoint weights do not fit the network its config builds ({detail}); "
                           "was it written by another ptalker version?") from None


def export_checkpoint(source: str | os.PathLike, target: str | os.PathLike,
                      weights_dtype: torch.dtype = torch.float16) -> Path:
    """Copy a checkpoint for shipping: floating weights in ``weights_dtype``, training state dropped."""
    data = load_checkpoint(source)
    data["model"] = _cast(data["model"], weights_dtype)
    data["extra"] = {key: value for key, value in data["extra"].items() if key != "train_state"}
    with atomic_open(target, "wb") as handle:
        torch.save(data, handle)
    return Path(target)


def build_network(architecture: str, config, topology: Topology, content=None) -> torch.nn.Module:
    """The untrained network ``architecture`` with sizes ``config`` (its config section's dataclass)
    on ``topology``'s mesh (PTalker's graph on its ``face`` region when the masks have one);
    ``content``: a flow talker's PTalkerConfig."""
    return build_model(architecture, config, topology.template, topology.faces, topology.masks.all.get("face"),
                       content)


def network_from_config(config: dict, topology: Topology, where: str) -> torch.nn.Module:
    """The network a checkpoint's training ``config`` (a dict) describes (weights not loaded);
    checkpoints from before the architecture key are PTalker. ``where`` names the file in errors."""
    architecture = check_architecture(config.get("architecture", "ptalker"), f"{where}: architecture")
    section, config_class = SECTIONS[architecture]
    content = from_dict(PTalkerConfig, config["model"], f"{where}: model") if architecture == "flow" else None
    return build_network(architecture, from_dict(config_class, config[section], f"{where}: {section}"), topology,
                         content)
