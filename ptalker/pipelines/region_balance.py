"""Per-region balance of audio and style in the flow sampler (MirrorTalk's idea: the audio
drives the mouth, the style the rest, each region weighted on its own).

A balance gives each editing region (:data:`ptalker.mesh.region_blend.REGIONS`: the mouth and
jaw, the upper face, the rest) two numbers:

- ``style``: the region's classifier-free style scale, a factor on the sampler's ``cfg_style``
  (0: the null style, exactly the motion generated without a style; 1: as sampled; above 1
  exaggerated);
- ``audio``: a factor on the speech-driven part of the motion, the decoder's neutral-style
  motion for the speech (the flow's prior): motion = sampled + (audio - 1) * prior, so 1 is as
  sampled, 0 leaves the residual over the prior alone and above 1 exaggerates what the speech
  drives.

The sampler runs once per distinct style scale (and per distinct set of known frames, for
keyframes); each region's motion is decoded and the regions are composed vertex by vertex with
the soft blend weights of :func:`ptalker.mesh.region_blend.region_blend_weights`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch

from ptalker.errors import PtalkerError
from ptalker.mesh.region_blend import REGIONS
from ptalker.models.flow_talker import FlowPrompt, FlowTalker
from ptalker.pipelines.flow_sampling import SamplerSettings, generate_motion

REGION_ALIASES = {"mouth": "mouth", "jaw": "mouth", "upper": "upper", "eyes": "upper", "brows": "upper",
                  "rest": "rest"}
"""Names a region may be given by, and the region they mean."""


@dataclass(frozen=True)
class RegionBalance:
    """The audio and style weights of one region (see the module docstring)."""

    audio: float = 1.0
    style: float = 1.0


def _region_name(name: str, where: str) -> str:
    if name not in REGION_ALIASES:
        raise PtalkerError(f"{where}: unknown region '{name}'; choose one of {', '.join(REGION_ALIASES)}")
    return REGION_ALIASES[name]


def _weight(value, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number >= 0.0):
        raise PtalkerError(f"{where}: expected a finite number >= 0, got {value!r}")
    return number


def check_region_weights(weights: Mapping[str, Mapping[str, float]] | None) -> dict[str, RegionBalance]:
    """The balance of every region from ``weights`` such as ``{'mouth': {'audio': 1.2, 'style':
    0.5}, 'upper': {'style': 0}}`` (regions and keys left out weigh 1; region aliases: jaw ->
    mouth, eyes/brows -> upper). Raises PtalkerError on an unknown region or key, or a weight
    that is not a finite number >= 0."""
    balance = {region: RegionBalance() for region in REGIONS}
    for name, values in (weights or {}).items():
        region = _region_name(name, "region_weights")
        if not isinstance(values, Mapping):
            raise PtalkerError(f"region_weights['{name}']: expected a dict such as {{'audio': 1.2, 'style': 0.5}}, "
                               f"got {values!r}")
        for key, value in values.items():
            if key not in ("audio", "style"):
                raise PtalkerError(f"region_weights['{name}']: unknown key '{key}'; use 'audio' and 'style'")
            balance[region] = replace(balance[region], **{key: _weight(value, f"region_weights['{name}']['{key}']")})
    return balance


def parse_region_options(options: list[str] | None) -> dict[str, dict[str, float]]:
    """``--region`` options such as ``mouth:audio=1.2,style=0.5`` (one region each) as a
    region_weights dict: ``{'mouth': {'audio': 1.2, 'style': 0.5}}``."""
    weights: dict[str, dict[str, float]] = {}
    for text in options or []:
        where = f"--region {text}"
        name, _, settings = text.partition(":")
        if not settings:
            raise PtalkerError(f"{where}: expected REGION:audio=A,style=S, e.g. mouth:audio=1.2,style=0.5")
        _region_name(name, where)
        for item in settings.split(","):
            key, _, value = item.partition("=")
            if key not in ("audio", "style") or not value:
                raise PtalkerError(f"{where}: expected audio=A and/or style=S after the region, got '{item}'")
            weights.setdefault(name, {})[key] = _weight(value, where)
    return weights


def is_neutral(balance: Mapping[str, RegionBalance]) -> bool:
    """True when every region weighs audio and style 1 (one plain sampler run)."""
    return all(value == RegionBalance() for value in balance.values())


@torch.no_grad()
def sample_regions(talker: FlowTalker, condition: torch.Tensor, settings: SamplerSettings,
                   prompt: FlowPrompt | None, balance: Mapping[str, RegionBalance],
                   known_motion: torch.Tensor | None = None,
                   known: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """(T, K) motion coefficients per region for the ``condition`` (T, 2K), in the style of
    ``prompt``, under ``balance``; ``known[region]`` (T,) bool: frames held at ``known_motion``
    (T, K) in that region's run (infilling, keyframes). The audio weight applies to the
    generated frames only, so known frames come back exactly."""
    prior = talker.prior(condition)  # (T, K)
    runs: dict[tuple, torch.Tensor] = {}
    out = {}
    for region in REGIONS:
        weights = balance[region]
        held = None if known is None else known[region]
        key = (weights.style, None if held is None else held.numpy().tobytes())
        if key not in runs:
            runs[key] = generate_motion(talker, condition, replace(settings, cfg_style=settings.cfg_style * weights.style),
                                        prompt, known_motion, held)
        motion = runs[key].clone()
        free = torch.ones(len(motion), dtype=torch.bool) if held is None else ~held
        motion[free] += (weights.audio - 1.0) * prior[free]
        out[region] = motion
    return out


def compose_regions(talker: FlowTalker, motions: Mapping[str, torch.Tensor], blend: np.ndarray) -> torch.Tensor:
    """(T, V, 3) offsets: each region's motion (T, K) decoded and weighted by its row of
    ``blend`` (3, V) (:func:`ptalker.mesh.region_blend.region_blend_weights`)."""
    weights = torch.from_numpy(blend)
    return sum(weights[index][None, :, None] * talker.basis.decode(motions[region])
               for index, region in enumerate(REGIONS))
