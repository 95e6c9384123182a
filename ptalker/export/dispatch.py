"""One entry point for every export format: :func:`export_sequence`.

==========  =======================================================  ==========================
format      what is written at ``out``                               options
==========  =======================================================  ==========================
glb         glTF 2.0 binary: base mesh, PCA morph targets, weights   error_bound, max_targets,
            animation (:mod:`ptalker.export.gltf`)                   normals
pc2         PC2 point cache, little-endian (:mod:`.pointcache`)      start_frame, sampling
mdd         MDD point cache, big-endian (:mod:`.pointcache`)
obj, ply    a folder: one mesh per frame + sequence.json
npz         vertices, faces, fps, flame_<name> arrays (:mod:`.arrays`)
npy         the (T, V, 3) float32 vertices alone
==========  =======================================================  ==========================

Speech given as ``audio`` is written beside ``out`` as a WAV with the same stem
(``clip.glb`` -> ``clip.wav``; a folder ``frames`` -> ``frames.wav``). ``flame_params`` are
stored by npz only; the other formats cannot hold them and leave them out. Writers import
lazily, so ``FORMATS`` and :func:`format_from_suffix` cost nothing to import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_faces, as_fps, as_vertices

if TYPE_CHECKING:
    from ptalker.export.audio import AudioInput
    from ptalker.export.gltf import GlbResult

FORMATS = ("glb", "pc2", "mdd", "obj", "ply", "npz", "npy")
FOLDER_FORMATS = ("obj", "ply")
"""Formats that write a folder (one file per frame): their format cannot be told from a name."""
FORMAT_OPTIONS = {"glb": ("error_bound", "max_targets", "normals"), "pc2": ("start_frame", "sampling")}
"""Keyword options each format accepts; the others take none."""
BYTES_PER_MB = 1e6


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_sequence` wrote: format, path (file or folder), counts, total bytes, the
    WAV beside it (if any) and, for glb, the morph-target fit."""

    fmt: str
    path: Path
    frames: int
    num_vertices: int
    fps: float
    num_bytes: int
    audio: Path | None = None
    glb: GlbResult | None = None

    def __str__(self) -> str:
        text = (f"wrote {self.frames} frames of {self.num_vertices} vertices at {self.fps:g} fps as "
                f"{self.fmt} to {self.path} ({self.num_bytes / BYTES_PER_MB:.2f} MB)")
        if self.glb is not None:
            text += f": {self.glb}"
        if self.audio is not None:
            text += f"; speech in {self.audio}"
        return text


def format_from_suffix(path: str | os.PathLike) -> str:
    """The export format a file name asks for: ``clip.glb`` -> "glb".

    Raises:
        PtalkerError: no known file suffix (obj and ply write folders and need the format given).
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in FORMATS and suffix not in FOLDER_FORMATS:
        return suffix
    files = ", ".join(f".{fmt}" for fmt in FORMATS if fmt not in FOLDER_FORMATS)
    raise PtalkerError(f"out: cannot tell the export format from {str(path)!r}; name the file {files}, or "
                       f"give the format ({', '.join(FORMATS)}); obj and ply write a folder and always need it")


def export_sequence(vertices: np.ndarray, faces: np.ndarray, fps: float, out: str | os.PathLike,
                    fmt: str | None = None, audio: AudioInput | None = None,
                    flame_params: Mapping[str, np.ndarray] | None = None, **options: Any) -> ExportResult:
    """Write an animation as ``fmt`` at ``out`` (format from the suffix when ``fmt`` is None).

    Args:
        vertices: (T, V, 3) or (T, V*3) vertex positions.
        faces: (F, 3) integer triangles.
        fps: frames per second.
        out: the file (or, for obj/ply, the folder) to write; replaced atomically.
        fmt: one of :data:`FORMATS`.
        audio: speech to write beside ``out``: a sound file path, or (S,) float32 samples at 16 kHz.
        flame_params: FLAME parameters by name, e.g. {"expression": (T, 100)}; npz stores them.
        options: format options, see :data:`FORMAT_OPTIONS`.

    Raises:
        PtalkerError: an unknown format or option, bad arrays or audio, or ``out`` of the wrong kind.
    """
    fmt = _check_format(fmt, out)
    unknown = sorted(set(options) - set(FORMAT_OPTIONS.get(fmt, ())))
    if unknown:
        allowed = ", ".join(FORMAT_OPTIONS.get(fmt, ())) or "none"
        raise PtalkerError(f"{unknown[0]}: not an option of the {fmt} export (its options: {allowed}); drop it")
    vertices = as_vertices(vertices)
    faces, fps, out = as_faces(faces, vertices.shape[1]), as_fps(fps), Path(out)
    wav = _wav(audio)  # checked before anything is written
    glb = _write(fmt, vertices, faces, fps, out, flame_params, options)
    audio_path = _write_wav(out.with_suffix(".wav"), wav) if wav is not None else None
    size = sum(p.stat().st_size for p in out.iterdir()) if out.is_dir() else out.stat().st_size
    return ExportResult(fmt, out, len(vertices), vertices.shape[1], fps, size, audio_path, glb)


def _check_format(fmt: str | None, out: str | os.PathLike) -> str:
    fmt = format_from_suffix(out) if fmt is None else str(fmt).lower()
    if fmt not in FORMATS:
        raise PtalkerError(f"fmt: unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt in FOLDER_FORMATS and out.exists() and not out.is_dir():
        raise PtalkerError(f"out: {out} is a file, but {fmt} writes a folder of frames; give a folder path")
    if fmt not in FOLDER_FORMATS and out.is_dir():
        raise PtalkerError(f"out: {out} is a folder, but {fmt} writes one file; give a file path such as clip.{fmt}")
    return fmt


def _wav(audio: AudioInput | None) -> bytes | None:
    if audio is None:
        return None
    from ptalker.export.audio import wav_bytes

    return wav_bytes(audio)


def _write_wav(path: Path, wav: bytes) -> Path:
    from ptalker.fileio import atomic_open

    with atomic_open(path, "wb") as handle:
        handle.write(wav)
    return path


def _write(fmt: str, vertices: np.ndarray, faces: np.ndarray, fps: float, out: Path,
           flame_params: Mapping[str, np.ndarray] | None, options: dict[str, Any]) -> GlbResult | None:
    """Call the writer of ``fmt``; returns the glb fit for glb, None otherwise."""
    if fmt == "glb":
        from ptalker.export.gltf import write_glb

        return write_glb(out, vertices, faces, fps, **options)
    if fmt == "pc2":
        from ptalker.export.pointcache import write_pc2

        write_pc2(out, vertices, **options)
    elif fmt == "mdd":
        from ptalker.export.pointcache import write_mdd

        write_mdd(out, vertices, fps)
    elif fmt in FOLDER_FORMATS:
        from ptalker.export.mesh_sequence import write_mesh_sequence

        write_mesh_sequence(vertices, faces, out, fps, fmt)
    elif fmt == "npz":
        from ptalker.export.arrays import write_npz

        write_npz(out, vertices, faces, fps, flame_params)
    else:
        from ptalker.export.arrays import write_npy

        write_npy(out, vertices)
    return None
