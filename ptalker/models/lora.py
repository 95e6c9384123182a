"""Per-person LoRA adapters of the flow talker's velocity field (peft): adding them, their
state, merging, and the adapter file that ``ptalker adapt`` writes
(:mod:`ptalker.training.adapt` fits them).

An adapter file (``torch.save`` of plain containers, read with ``weights_only=True``)::

    format     ADAPTER_FORMAT
    base       fingerprint of the base field's weights (:func:`base_fingerprint`)
    rank       LoRA rank
    lora       the adapters' state (peft's names: blocks.<i>.<layer>.lora_A/B.weight)
    template   (V, 3) the person's neutral face
    prompt     {'motion': (T_p, K), 'condition': (T_p, 2K), 'style': (S_dim,)}: their clip
               as the default prompt
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ptalker.errors import PtalkerError
from ptalker.models.flow_talker import FlowPrompt, FlowTalker

ADAPTER_FORMAT = "ptalker-adapter-1"
TARGET_MODULES = ["q", "k", "v", "o", "ff_in", "ff_out"]
"""The linear layers of every velocity-field block that get LoRA adapters."""


@dataclass
class Person:
    """A loaded adapter: who the flow sampler animates when no style is given."""

    template: torch.Tensor
    """(V, 3) their neutral face."""
    prompt: FlowPrompt
    """Their clip as the in-context prompt."""


def base_fingerprint(talker: FlowTalker) -> str:
    """A hash of the base velocity field's weights (the adapters' base; adapters left out)."""
    digest = hashlib.sha1()
    for name, value in sorted(talker.field.state_dict().items()):
        if "lora_" not in name:
            digest.update(name.replace("base_layer.", "").encode())
            digest.update(value.detach().cpu().float().numpy().tobytes())
    return digest.hexdigest()


def add_adapters(talker: FlowTalker, rank: int) -> None:
    """Insert fresh LoRA adapters of ``rank`` into ``talker``'s field (in place); only they train."""
    from peft import LoraConfig, inject_adapter_in_model

    config = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0, target_modules=TARGET_MODULES)
    inject_adapter_in_model(config, talker.field)
    for name, parameter in talker.named_parameters():
        parameter.requires_grad_("lora_" in name)


def adapter_state(talker: FlowTalker) -> dict[str, torch.Tensor]:
    """The adapters' weights (peft's names)."""
    from peft import get_peft_model_state_dict

    return {name: value.detach().clone() for name, value in get_peft_model_state_dict(talker.field).items()}


def set_merged(talker: FlowTalker, merged: bool) -> None:
    """Fold the adapters into the base weights (``merged``) or take them out again: the output is
    the same either way (to float rounding), merged runs as fast as the base."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in talker.field.modules():
        if isinstance(module, BaseTunerLayer):
            if merged and not module.merged:
                module.merge()
            elif not merged and module.merged:
                module.unmerge()


def save_adapter(path: str | os.PathLike, talker: FlowTalker, base: str, rank: int, person: Person) -> None:
    """Write ``talker``'s adapters (fitted on the base with fingerprint ``base``) and ``person`` atomically."""
    from ptalker.fileio import atomic_open

    data = {"format": ADAPTER_FORMAT, "base": base, "rank": rank, "lora": adapter_state(talker),
            "template": person.template.clone(),
            "prompt": {"motion": person.prompt.motion, "condition": person.prompt.condition,
                       "style": person.prompt.style}}
    with atomic_open(path, "wb") as handle:
        torch.save(data, handle)


def load_adapter(talker: FlowTalker, path: str | os.PathLike) -> Person:
    """Add the adapters of the file ``path`` to ``talker`` (merged into its field) and return the person.

    Raises:
        PtalkerError: not an adapter file, or one fitted to another checkpoint.
    """
    from peft import set_peft_model_state_dict

    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"--adapter {path}: file not found; make one with 'ptalker adapt'")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or foreign files
        raise PtalkerError(f"--adapter {path}: not a readable adapter file ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or data.get("format") != ADAPTER_FORMAT:
        raise PtalkerError(f"--adapter {path}: not a ptalker adapter (expected format {ADAPTER_FORMAT})")
    if data["base"] != base_fingerprint(talker):
        raise PtalkerError(f"--adapter {path}: fitted to another checkpoint's sampler; use the checkpoint it was "
                           "adapted from (--checkpoint) or adapt again")
    if tuple(data["template"].shape) != (talker.content_model.num_vertices, 3):
        raise PtalkerError(f"--adapter {path}: its face has {tuple(data['template'].shape)} vertices, the "
                           f"checkpoint's mesh {talker.content_model.num_vertices}")
    add_adapters(talker, int(data["rank"]))
    set_peft_model_state_dict(talker.field, data["lora"])
    talker.requires_grad_(False)
    set_merged(talker, True)
    talker.field.eval()
    prompt = data["prompt"]
    return Person(data["template"].float(), FlowPrompt(prompt["motion"], prompt["condition"], prompt["style"]))
