"""What ``ptalker animate`` and ``make demo`` write for one animation.

    OUT/vertices.npy        (T, V, 3) float32
    OUT/sequence.json       fps, frames, vertices (``ptalker render/export/plot`` read the fps here)
    OUT/obj/, OUT/ply/      one mesh per frame, for the folder formats asked for
    OUT/animation.<fmt>     glb (with animation.wav beside it), pc2, mdd, npz, npy
    OUT/animation_flame.npz FLAME parameters fitted to the animation (format ``flame``; see
                            :mod:`ptalker.flame.flame_params`)
    OUT/animation_arkit.*   ARKit blend-shape weights solved from the animation (format ``arkit``):
                            Live Link Face .csv, .json curves, .glb with the 52 ARKit morph targets
                            (see :mod:`ptalker.pipelines.arkit`)
    OUT/preview.mp4         the rendered animation with the speech (when asked for)
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.export import FOLDER_FORMATS, FORMATS, export_sequence
from ptalker.export.mesh_sequence import mesh_sequence_writer
from ptalker.fileio import npy_writer, save_json, save_npy
from ptalker.mesh.sequence_file import SEQUENCE_INFO_FILE

VIDEO_FILE = "preview.mp4"
PREVIEW_SIZE = 512
"""Width and height of preview.mp4 in pixels (the face look, framed eyes to chin, on the head's mesh)."""
FLAME_FILE = "animation_flame.npz"
FLAME_FORMAT = "flame"
ARKIT_FORMAT = "arkit"
OUTPUT_FORMATS = (*FORMATS, FLAME_FORMAT, ARKIT_FORMAT)
"""What ``formats`` of :func:`write_outputs` may hold: the export formats, FLAME parameters, ARKit weights."""
STREAMED_FORMATS = ("npy", "obj", "ply")
"""The formats :func:`write_streamed` writes block by block (the others need the whole sequence at once)."""


def write_outputs(vertices: np.ndarray, faces: np.ndarray, fps: float, out: str | os.PathLike,
                  speech: str | os.PathLike | np.ndarray, formats: tuple[str, ...] | list[str] = ("obj",),
                  video: bool = False) -> list[Path]:
    """Write the animation ``vertices`` (T, V, 3) with ``faces`` (F, 3) into the folder ``out`` as
    the module doc lists; ``speech`` (a sound file, or (S,) float32 at 16 kHz) goes beside the glb
    and into the video. ``formats``: any of :data:`OUTPUT_FORMATS`; FLAME parameters are fitted
    (:func:`ptalker.flame.fitting.fit_flame`, the head model in use) and ARKit weights solved
    (:func:`ptalker.pipelines.arkit.solve_sequence`, on the head model's mean head) before anything
    is written, so a mesh that is not the head model's writes nothing. Returns the paths written,
    vertices.npy first."""
    out = Path(out)
    if FLAME_FORMAT in formats:
        from ptalker.flame.fitting import fit_flame, save_flame_params

        fit = fit_flame(vertices, fps=fps)
    if ARKIT_FORMAT in formats:
        from ptalker.pipelines.arkit import arkit_paths, solve_sequence, write_arkit_files

        arkit = solve_sequence(vertices)
    save_npy(out / "vertices.npy", vertices)
    written = [out / "vertices.npy", _save_sequence_info(out, fps, len(vertices), vertices.shape[1])]
    for fmt in dict.fromkeys(formats):  # each once, in order
        if fmt == FLAME_FORMAT:
            written.append(save_flame_params(out / FLAME_FILE, fit))
        elif fmt == ARKIT_FORMAT:
            written += write_arkit_files(arkit_paths(out), *arkit, fps)
        else:
            path = _format_path(out, fmt)
            result = export_sequence(vertices, faces, fps, path, fmt, audio=speech if fmt == "glb" else None)
            written += [result.path] + ([result.audio] if result.audio is not None else [])
    if video:
        from ptalker.pipelines.preview import preview_settings
        from ptalker.render import render_video

        settings = preview_settings(vertices.shape[1], PREVIEW_SIZE)
        written.append(render_video(vertices, faces, out / VIDEO_FILE, fps, audio=speech, settings=settings).path)
    return written


def write_streamed(blocks: Iterable[np.ndarray], num_frames: int, faces: np.ndarray, fps: float,
                   out: str | os.PathLike, formats: tuple[str, ...] | list[str] = ("obj",)) -> list[Path]:
    """:func:`write_outputs` for an animation that comes as ``blocks`` of frames (n, V, 3)
    (:meth:`ptalker.pipelines.animator.Animator.animate_blocks`), ``num_frames`` in all: only one
    block is held, so memory does not grow with the length. ``formats``: any of
    :data:`STREAMED_FORMATS`. The files are byte for byte those :func:`write_outputs` writes."""
    unstreamed = [fmt for fmt in formats if fmt not in STREAMED_FORMATS]
    if unstreamed:
        raise PtalkerError(f"formats {', '.join(unstreamed)}: need the whole sequence at once; write them with "
                           f"write_outputs (streamed: {', '.join(STREAMED_FORMATS)})")
    out = Path(out)
    targets = {fmt: _format_path(out, fmt) for fmt in dict.fromkeys(formats)}
    blocks = iter(blocks)
    first = next(blocks)  # the vertex count is known with the first block
    shape = (num_frames, *first.shape[1:])
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(npy_writer(out / "vertices.npy", shape))]
        for fmt, path in targets.items():
            writers.append(stack.enter_context(mesh_sequence_writer(path, num_frames, shape[1], faces, fps, fmt)
                                               if fmt in FOLDER_FORMATS else npy_writer(path, shape)))
        for block in itertools.chain([first], blocks):
            for write in writers:
                write(block)
    return [out / "vertices.npy", _save_sequence_info(out, fps, num_frames, shape[1]), *targets.values()]


def _format_path(out: Path, fmt: str) -> Path:
    """Where ``fmt`` goes in the folder ``out``: a folder of frames for obj/ply, else animation.<fmt>."""
    return out / fmt if fmt in FOLDER_FORMATS else out / f"animation.{fmt}"


def _save_sequence_info(out: Path, fps: float, frames: int, vertices: int) -> Path:
    """Write OUT/sequence.json (fps, frames, vertices), which render/export/plot read; its path."""
    save_json(out / SEQUENCE_INFO_FILE, {"fps": fps, "frames": frames, "vertices": int(vertices)})
    return out / SEQUENCE_INFO_FILE
