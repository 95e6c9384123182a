"""Editing a performance from Python and from ``ptalker edit``: files or arrays in, an
:class:`~ptalker.pipelines.animator.Animation` or an output folder out.

The Python functions (:func:`redub`, :func:`infill`, :func:`keyframes`, re-exported as
:mod:`ptalker.edit`) take a performance as a (T, V, 3) array or a .npy/.npz file of the
checkpoint's mesh (at its frame rate) and speech as a path or (S,) float32 at 16 kHz; the model
is the shipped flow checkpoint unless ``model`` is given. :func:`edit_to_folder` runs
``ptalker edit redub | infill | keys`` and writes what ``ptalker animate`` writes
(:mod:`ptalker.pipelines.outputs`: vertices.npy, sequence.json, the asked-for formats, an
optional preview with the speech). What each edit keeps and changes:
:mod:`ptalker.pipelines.editing`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ptalker.audio.timeline import Speech
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy
from ptalker.mesh.sequence_file import load_sequence
from ptalker.pipelines import editing
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Animation, Animator, Style, load_model
from ptalker.pipelines.editing import Key
from ptalker.pipelines.flow_sampling import SamplerSettings
from ptalker.pipelines.output_folder import check_out_path, output_folder
from ptalker.pipelines.outputs import write_outputs
from ptalker.pipelines.region_balance import REGION_ALIASES, parse_region_options
from ptalker.render.gl_platform import probe_ahead

RegionWeights = Mapping[str, Mapping[str, float]]
"""Per-region balance, e.g. ``{'mouth': {'audio': 1.2, 'style': 0.5}, 'upper': {'style': 1.0}}``."""


@lru_cache(maxsize=1)
def _shipped_model() -> Animator:
    return load_model(FLOW_CHECKPOINT)


def _performance(performance: np.ndarray | str | os.PathLike, fps: float) -> np.ndarray:
    """(T, V, 3) vertices of ``performance`` (an array or a .npy/.npz file whose fps, when it
    states one, must be the model's)."""
    if not isinstance(performance, (str, os.PathLike)):
        return np.asarray(performance, dtype=np.float32)
    sequence = load_sequence(performance)
    if sequence.fps is not None and abs(sequence.fps - fps) > 1e-6:
        raise PtalkerError(f"{performance}: runs at {sequence.fps:g} fps, the model at {fps:g}; resample the "
                           f"performance to {fps:g} fps")
    return sequence.vertices


def _mesh(value: np.ndarray | str | os.PathLike | None) -> np.ndarray | None:
    """A (V, 3) mesh given as an array or an .npy file (None stays None)."""
    if value is None or not isinstance(value, (str, os.PathLike)):
        return value
    return load_npy(value).reshape(-1, 3)


def load_key(spec: str) -> Key:
    """A key from ``t=SECONDS:FILE.npy`` (the whole frame) or ``t=SECONDS:FILE.npy:REGION`` (one
    region's shape), as ``--key`` takes it; FILE holds a (V, 3) head-stabilized mesh."""
    where = f"--key {spec}"
    time_part, _, rest = spec.partition(":")
    if not time_part.startswith("t=") or not rest:
        raise PtalkerError(f"{where}: expected t=SECONDS:FILE.npy[:REGION], e.g. t=1.2:pose.npy or t=1.2:pose.npy:mouth")
    try:
        time_s = float(time_part[2:])
    except ValueError:
        raise PtalkerError(f"{where}: '{time_part[2:]}' is not a time in seconds, e.g. t=1.2") from None
    path, region = rest, None
    head, _, tail = rest.rpartition(":")
    if head and tail in REGION_ALIASES:
        path, region = head, tail
    if Path(path).suffix.lower() != ".npy":
        raise PtalkerError(f"{where}: the key's mesh must be a .npy file of (V, 3) vertices, got '{path}'")
    vertices = load_npy(path)
    return Key(time_s, vertices.reshape(-1, 3) if vertices.size % 3 == 0 else vertices, region, where)


def redub(performance: np.ndarray | str | os.PathLike, audio: np.ndarray | str | os.PathLike, *,
          source_audio: np.ndarray | str | os.PathLike | None = None, style: Style | str | None = None,
          template: np.ndarray | str | os.PathLike | None = None, retime: str = "stretch",
          region_weights: RegionWeights | None = None, settings: SamplerSettings | None = None,
          text: str | None = None, timeline: Speech | None = None, model: Animator | None = None) -> Animation:
    """The ``performance`` re-dubbed with new speech ``audio``: its mouth and jaw regenerated, head
    pose, eyes, brows and the rest kept (``retime``: 'stretch' or 'loop' when the new speech has
    another length). The mouth speaks in the performance's own style when its speech
    ``source_audio`` is given, else in ``style``. See :func:`ptalker.pipelines.editing.redub`."""
    model = model or _shipped_model()
    vertices = editing.redub(model, _performance(performance, model.fps), audio, source_audio=source_audio,
                             style=style, template=_mesh(template), retime=retime, text=text, timeline=timeline,
                             settings=settings, region_weights=region_weights)
    return Animation(vertices, model.fps, model.topology.faces)


def infill(performance: np.ndarray | str | os.PathLike, audio: np.ndarray | str | os.PathLike,
           span: tuple[float, float], *, template: np.ndarray | str | os.PathLike | None = None,
           region_weights: RegionWeights | None = None, settings: SamplerSettings | None = None,
           text: str | None = None, timeline: Speech | None = None, model: Animator | None = None) -> Animation:
    """The ``performance`` with the frames of ``span`` (start, end seconds) regenerated for its
    speech ``audio`` (the whole performance's) so that they join the frames around them; all
    other frames bit-identical. See :func:`ptalker.pipelines.editing.infill`."""
    model = model or _shipped_model()
    vertices = editing.infill(model, _performance(performance, model.fps), audio, span, template=_mesh(template),
                              text=text, timeline=timeline, settings=settings, region_weights=region_weights)
    return Animation(vertices, model.fps, model.topology.faces)


def keyframes(audio: np.ndarray | str | os.PathLike, keys: Sequence[Key | str], *, style: Style | str | None = None,
              template: np.ndarray | str | os.PathLike | None = None, region_weights: RegionWeights | None = None,
              settings: SamplerSettings | None = None, text: str | None = None, timeline: Speech | None = None,
              model: Animator | None = None) -> Animation:
    """New motion for ``audio`` through the ``keys`` (:class:`Key`, or ``'t=1.2:pose.npy[:region]'``
    strings), in ``style`` on ``template``. See :func:`ptalker.pipelines.editing.keyframes`."""
    model = model or _shipped_model()
    keys = [load_key(key) if isinstance(key, str) else key for key in keys]
    vertices = editing.keyframes(model, audio, keys, style=style, template=_mesh(template), text=text,
                                 timeline=timeline, settings=settings, region_weights=region_weights)
    return Animation(vertices, model.fps, model.topology.faces)


ACTIONS = ("redub", "infill", "keys")


@dataclass
class EditReport:
    """What ``ptalker edit`` wrote (printed as one line)."""

    action: str
    out: Path
    frames: int
    fps: float
    written: list[Path]

    def __str__(self) -> str:
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in self.written)
        return f"{self.action}: wrote {self.frames} frames at {self.fps:g} fps to {self.out}: {names}"


def parse_span(text: str) -> tuple[float, float]:
    """``--span 2.0:3.5`` as (2.0, 3.5) seconds."""
    start, _, end = text.partition(":")
    try:
        return float(start), float(end)
    except ValueError:
        raise PtalkerError(f"--span {text}: expected START:END in seconds, e.g. 2.0:3.5") from None


def edit_to_folder(action: str, audio: str | os.PathLike, out: str | os.PathLike,
                   performance: str | os.PathLike | None = None, span: str | None = None,
                   keys: list[str] | None = None, source_audio: str | os.PathLike | None = None,
                   speaker: str | None = None, template: str | os.PathLike | None = None,
                   retime: str = "stretch", regions: list[str] | None = None,
                   checkpoint: str | os.PathLike | None = None, formats: tuple[str, ...] | list[str] = ("obj",),
                   video: bool = False, text: str | None = None,
                   settings: SamplerSettings | None = None, overwrite: bool = False) -> EditReport:
    """Run the edit ``action`` ('redub', 'infill' or 'keys') and write its outputs into ``out``.
    ``performance``: the sequence to edit (redub, infill); ``span``: 'START:END' seconds (infill);
    ``keys``: 't=SECONDS:FILE.npy[:REGION]' (keys); ``regions``: 'REGION:audio=A,style=S'
    balances; ``out`` follows the output-folder rules (:mod:`ptalker.pipelines.output_folder`:
    locked, written whole, a folder with files ptalker did not write refused without
    ``overwrite``); the rest as :mod:`ptalker.edit` takes them."""
    if action not in ACTIONS:
        raise PtalkerError(f"edit {action}: choose one of {', '.join(ACTIONS)}")
    if action != "keys" and performance is None:
        raise PtalkerError(f"edit {action}: give the performance to edit (a .npy/.npz vertex sequence)")
    weights = parse_region_options(regions)
    if action == "infill" and span is None:
        raise PtalkerError("edit infill: give the span to regenerate, e.g. --span 2.0:3.5")
    if action == "keys" and not keys:
        raise PtalkerError("edit keys: give at least one --key t=SECONDS:FILE.npy")
    check_out_path(out, overwrite)
    if video:
        probe_ahead()
    with output_folder(out, overwrite, kind=f"edit {action}") as staging:
        staging.record = {"audio": str(audio), "performance": None if performance is None else str(performance)}
        model = load_model(checkpoint or FLOW_CHECKPOINT)
        common = {"template": template, "region_weights": weights, "settings": settings, "text": text, "model": model}
        if action == "redub":
            result = redub(performance, audio, source_audio=source_audio, style=speaker, retime=retime, **common)
        elif action == "infill":
            result = infill(performance, audio, parse_span(span), **common)
        else:
            result = keyframes(audio, keys, style=speaker, **common)
        staging.written = write_outputs(result.vertices, result.faces, result.fps, staging.path, audio, formats, video)
    return EditReport(action, Path(out), len(result.vertices), result.fps, staging.written)
