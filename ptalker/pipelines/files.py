"""Vertex-sequence files in, files out: what ``ptalker render``, ``export`` and ``plot lips`` run.

Sequence files are read by :mod:`ptalker.mesh.sequence_file` (.npy or .npz, fps from the file or a
``sequence.json`` beside it); when neither ``--faces`` nor the file gives triangles, the head
model's are used if the vertex count is the head's. The arrays then go to the renderer, the
exporters or the plots, which take arrays only. ``export --landmarks`` adds the 68 facial
landmarks beside the export (:mod:`ptalker.pipelines.landmark_files`); ``ptalker fit`` fits FLAME
parameters to a sequence (:mod:`ptalker.flame.fitting`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ptalker.audio.timeline import read_timeline
from ptalker.errors import PtalkerError
from ptalker.export import ExportResult, export_sequence
from ptalker.fileio import load_npy
from ptalker.mesh.sequence_file import load_sequence, resolve_faces, resolve_fps
from ptalker.pipelines.outputs import ARKIT_FORMAT
from ptalker.render import DEFAULT_BACKEND, VideoResult, render_video

if TYPE_CHECKING:
    from ptalker.flame.flame_params import FlameFit
    from ptalker.pipelines.arkit import ArkitExport
    from ptalker.pipelines.landmark_files import LandmarkFiles

DEFAULT_SIZE = 512
"""Width and height in pixels of each rendered view."""


def read_sequence(path: str | os.PathLike, fps: float | None = None,
                  faces: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(vertices (T, V, 3), faces (F, 3), fps) of the sequence file ``path``, ``fps`` and ``faces``
    (a file) overriding what it says; without triangles, the head model's.

    Raises:
        PtalkerError: unreadable inputs, or no triangles known for this vertex count.
    """
    path = Path(path)
    sequence = load_sequence(path)
    rate = resolve_fps(fps, sequence, path)
    triangles = resolve_faces(faces, sequence, path)
    return sequence.vertices, _head_faces(sequence.vertices.shape[1], path) if triangles is None else triangles, rate


def _head_faces(count: int, path: Path) -> np.ndarray:
    """The head model's triangles for a sequence of ``count`` vertices read from ``path``."""
    from ptalker.flame.flame_model import head_topology

    head = head_topology()
    if head.num_vertices != count:
        raise PtalkerError(f"{path}: {count} vertices and no triangles; the head model in use has "
                           f"{head.num_vertices}, so pass --faces FILE (an (F, 3) .npy or a mesh file of this mesh)")
    return head.faces


def render_file(seq: str | os.PathLike, out: str | os.PathLike, audio: str | os.PathLike | None = None,
                compare: str | os.PathLike | None = None, fps: float | None = None,
                faces: str | os.PathLike | None = None, backend: str = DEFAULT_BACKEND,
                size: int = DEFAULT_SIZE, look: str | None = None, framing: str | None = None) -> VideoResult:
    """Render the sequence file ``seq`` to the MP4 ``out`` (``ptalker render``; see
    :func:`ptalker.render.render_video`).

    Args:
        seq: .npy (T, V, 3) / (T, V*3) or .npz with ``vertices`` (and ``faces``, ``fps``).
        out: the MP4 to write.
        audio: speech file to mux in.
        compare: a ground-truth sequence file of the same mesh: side-by-side video with the error.
        fps, faces: override what the file says (see :func:`read_sequence`).
        backend: render backend name.
        size: width and height in pixels of each view.
        look, framing: ``face`` / ``clay`` and ``face`` / ``head`` (see
            :func:`ptalker.pipelines.preview.preview_settings`; default: the face look, framed eyes to
            chin, on the head model's mesh, else clay framed whole).

    Raises:
        PtalkerError: any of the inputs is missing, unreadable or does not fit the others.
    """
    from ptalker.pipelines.preview import preview_settings  # loads the head model

    vertices, triangles, rate = read_sequence(seq, fps, faces)
    truth = None if compare is None else load_sequence(compare).vertices
    settings = preview_settings(vertices.shape[1], size, look, framing)
    return render_video(vertices, triangles, out, rate, audio=audio, compare=truth, settings=settings,
                        backend=backend)


@dataclass(frozen=True)
class FileExport:
    """What :func:`export_file` wrote: the export and, when asked for, the landmark files beside it."""

    export: ExportResult
    landmarks: LandmarkFiles | None = None

    def __str__(self) -> str:
        return str(self.export) if self.landmarks is None else f"{self.export}\n{self.landmarks}"


def export_file(seq: str | os.PathLike, out: str | os.PathLike, fmt: str | None = None,
                audio: str | os.PathLike | None = None, fps: float | None = None,
                faces: str | os.PathLike | None = None, error_bound: float | None = None,
                landmarks: bool = False, size: int | Sequence[int] | None = None,
                template: str | os.PathLike | None = None) -> FileExport | ArkitExport:
    """Export the sequence file ``seq`` to ``out`` in ``fmt`` (``ptalker export``; see
    :func:`ptalker.export.export_sequence`).

    With ``landmarks``, the sequence's 68 facial landmarks are also written beside ``out``, in 3D
    and in the pixels of the preview camera at ``size`` (N or (W, H); default DEFAULT_SIZE
    square); see :mod:`ptalker.pipelines.landmark_files`. They are computed before anything is
    written, so a sequence not on the head model's mesh writes nothing.

    ``fmt`` "arkit" writes ARKit blend-shape weights instead (:func:`ptalker.pipelines.arkit.export_arkit`:
    a Live Link Face CSV, a JSON and a glb; ``out`` a folder or a .csv/.json/.glb name), solved on
    ``template`` (a .npy (V, 3) neutral head of the sequence's person; default the head model's).

    Raises:
        PtalkerError: unreadable inputs, a ``size`` without ``landmarks``, or landmarks asked for a
            sequence not on the head model's mesh.
    """
    from ptalker.pipelines.landmark_files import sequence_landmarks  # loads the head model

    if fmt == ARKIT_FORMAT:
        return _export_arkit_file(seq, out, audio, fps, faces, error_bound, landmarks, size, template)
    if template is not None:
        raise PtalkerError(f"template: only the arkit export uses a neutral head (got {template}); "
                           "leave --template out or add --format arkit")
    if size is not None and not landmarks:
        raise PtalkerError(f"size: only the landmarks use an image size (got {size}); add --landmarks or "
                           "leave --size out")
    vertices, triangles, rate = read_sequence(seq, fps, faces)
    points = sequence_landmarks(vertices, rate, DEFAULT_SIZE if size is None else size, source=str(seq)) \
        if landmarks else None
    options = {"error_bound": error_bound} if error_bound is not None else {}
    result = export_sequence(vertices, triangles, rate, out, fmt, audio=audio, **options)
    return FileExport(result, None if points is None else points.save(Path(out).parent))


def _export_arkit_file(seq: str | os.PathLike, out: str | os.PathLike, audio: str | os.PathLike | None,
                       fps: float | None, faces: str | os.PathLike | None, error_bound: float | None,
                       landmarks: bool, size: int | Sequence[int] | None,
                       template: str | os.PathLike | None) -> ArkitExport:
    """``ptalker export --format arkit``: see :func:`export_file`."""
    from ptalker.pipelines.arkit import export_arkit

    unused = [name for name, given in (("--faces", faces), ("--error-bound", error_bound),
                                       ("--landmarks", landmarks), ("--size", size)) if given]
    if unused:
        raise PtalkerError(f"{unused[0]}: not an option of the arkit export (it writes the head model's mesh); drop it")
    path = Path(seq)
    sequence = load_sequence(path)
    rate = resolve_fps(fps, sequence, path)
    neutral = None if template is None else load_npy(template).reshape(-1, 3)
    try:
        return export_arkit(sequence.vertices, rate, out, template=neutral, audio=audio)
    except PtalkerError as err:
        raise PtalkerError(f"{path}: {err}") from None


def fit_file(seq: str | os.PathLike, out: str | os.PathLike, fps: float | None = None,
             flame_dir: str | os.PathLike | None = None) -> FlameFit:
    """``ptalker fit``: fit FLAME parameters to the sequence file ``seq`` (on the mesh of the head model
    in ``flame_dir``, else the configured one, else the stand-in) and write them to the .npz ``out``
    (:func:`ptalker.flame.fitting.save_flame_params`); the fps, when known (``fps``, else the file's,
    else its ``sequence.json``), is stored with them.

    Raises:
        PtalkerError: an unreadable sequence, or one not on the head model's mesh.
    """
    from ptalker.flame.fitting import fit_flame, save_flame_params

    path = Path(seq)
    sequence = load_sequence(path)
    rate = resolve_fps(fps, sequence, path, required=False)
    try:
        fit = fit_flame(sequence.vertices, flame_dir, fps=rate)
    except PtalkerError as err:
        raise PtalkerError(f"{path}: {err}") from None
    save_flame_params(out, fit)
    return fit


def plot_lips_file(pred: str | os.PathLike, out_png: str | os.PathLike, truth: str | os.PathLike | None = None,
                   template: str | os.PathLike | None = None, timeline: str | os.PathLike | None = None,
                   fps: float | None = None) -> Path:
    """``ptalker plot lips``: the lip opening of the sequence file ``pred`` (and ``truth``), over
    the phoneme timeline in ``timeline`` when given; lip pairs from the head model's masks."""
    from ptalker.flame.masks import head_face_sets
    from ptalker.plots import phoneme_spans, plot_lip_opening, word_spans

    path = Path(pred)
    sequence = load_sequence(path)
    speech = read_timeline(timeline) if timeline is not None else None
    return plot_lip_opening(sequence.vertices, out_png, head_face_sets(), resolve_fps(fps, sequence, path),
                            truth=None if truth is None else load_sequence(truth).vertices,
                            template=None if template is None else load_npy(template).reshape(-1, 3),
                            phonemes=None if speech is None else phoneme_spans(speech),
                            words=None if speech is None else word_spans(speech), title=path.stem)
