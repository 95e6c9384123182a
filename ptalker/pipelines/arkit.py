"""ARKit blend-shape animation of a vertex sequence: ``ptalker export --format arkit`` and
``ptalker animate --format arkit``.

The head model's 52 ARKit shapes (:mod:`ptalker.flame.arkit`) on the sequence's neutral head, the
weights solved per frame (:mod:`ptalker.export.arkit_solve`), written as three files
(:mod:`ptalker.export.arkit_files`) with one stem:

    animation_arkit.csv    Live Link Face CSV (Unreal: Live Link Face importer, MetaHuman)
    animation_arkit.json   {fps, names, weights (T, 52), head and eye angles, error}
    animation_arkit.glb    the head with the 52 ARKit morph targets and their weight animation

``out`` is a folder (the files go in it under :data:`ARKIT_STEM`) or a file name ending in .csv,
.json or .glb (the three files take its stem: ``take.csv`` -> take.csv, take.json, take.glb).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.export.arkit_files import write_arkit_glb, write_arkit_json, write_livelink_csv
from ptalker.export.arkit_solve import ArkitSolve, SolveSettings, solve_arkit
from ptalker.export.audio import AudioInput, wav_bytes
from ptalker.fileio import atomic_open
from ptalker.flame.arkit import ARKIT_NAMES, PAIR_INDICES, ArkitBasis, arkit_basis
from ptalker.flame.flame_model import FlameModel
from ptalker.mesh.checks import as_fps, as_vertices

ARKIT_STEM = "animation_arkit"
ARKIT_SUFFIXES = (".csv", ".json", ".glb")


@dataclass(frozen=True)
class ArkitExport:
    """What :func:`export_arkit` wrote (CSV, JSON, glb, the WAV if any) and the solve."""

    paths: tuple[Path, ...]
    solve: ArkitSolve
    zero_shapes: tuple[str, ...]

    def __str__(self) -> str:
        return (f"wrote {', '.join(str(p) for p in self.paths)}\n{self.solve}; zero shapes (the head model does "
                f"not make them): {', '.join(self.zero_shapes) or 'none'}")


def arkit_paths(out: str | os.PathLike) -> tuple[Path, Path, Path]:
    """The CSV, JSON and glb paths for ``out`` (module doc).

    Raises:
        PtalkerError: ``out`` names a file with another suffix.
    """
    out = Path(out)
    if out.suffix.lower() in ARKIT_SUFFIXES:
        return tuple(out.with_suffix(suffix) for suffix in ARKIT_SUFFIXES)
    if out.suffix and not out.is_dir():
        raise PtalkerError(f"out: {out} for the arkit export; give a folder, or a file name ending in "
                           f"{', '.join(ARKIT_SUFFIXES)} (the three files take its stem)")
    return tuple(out / f"{ARKIT_STEM}{suffix}" for suffix in ARKIT_SUFFIXES)


def solve_sequence(vertices: np.ndarray, template: np.ndarray | None = None,
                   flame_dir: str | os.PathLike | None = None,
                   settings: SolveSettings | None = None) -> tuple[ArkitBasis, ArkitSolve, np.ndarray]:
    """(basis, solve, faces): the ARKit shapes of the head model (the one in ``flame_dir``, else the
    configured one) on ``template`` (V, 3) (default: its mean head), the weights of ``vertices``
    (T, V, 3) and the head's (F, 3) triangles.

    Raises:
        PtalkerError: ``vertices`` not on the head model's mesh, or a head without ARKit shapes.
    """
    model = FlameModel.load(flame_dir)
    vertices = as_vertices(vertices)
    if vertices.shape[1] != model.num_vertices:
        raise PtalkerError(f"vertices: {vertices.shape[1]} per frame, expected {model.num_vertices} (the mesh of "
                           f"{model.name} in {model.flame_dir}); ARKit weights are solved on the head model's mesh: "
                           "retarget the animation to it first, or use the FLAME directory it was made with")
    basis = arkit_basis(model, template)
    solve = solve_arkit(vertices, basis.offsets, basis.template, basis.rigid, basis.head_weights, basis.eyeballs,
                        PAIR_INDICES, settings)
    return basis, solve, model.faces


def write_arkit_files(paths: tuple[Path, Path, Path], basis: ArkitBasis, solve: ArkitSolve, faces: np.ndarray,
                      fps: float) -> list[Path]:
    """Write the CSV, JSON and glb of ``solve`` in ``basis`` with the head's ``faces`` (F, 3) at ``paths``."""
    csv_path, json_path, glb_path = paths
    return [write_livelink_csv(csv_path, solve.weights, ARKIT_NAMES, fps, solve.head_angles, solve.eye_angles),
            write_arkit_json(json_path, solve.weights, ARKIT_NAMES, fps, solve.head_angles, solve.eye_angles,
                             solve.error_mean_mm, solve.error_max_mm, basis.zero_shapes),
            write_arkit_glb(glb_path, basis.template, basis.offsets, solve.weights, ARKIT_NAMES, faces, fps)]


def export_arkit(vertices: np.ndarray, fps: float, out: str | os.PathLike, template: np.ndarray | None = None,
                 audio: AudioInput | None = None, flame_dir: str | os.PathLike | None = None,
                 settings: SolveSettings | None = None) -> ArkitExport:
    """Solve ARKit weights of ``vertices`` (T, V, 3) at ``fps`` and write the CSV, JSON and glb at
    ``out`` (module doc), plus ``audio`` as a WAV with their stem. Everything is checked and solved
    before anything is written.

    Raises:
        PtalkerError: bad inputs (see :func:`solve_sequence`), a bad ``out`` or ``audio``.
    """
    fps = as_fps(fps)
    csv_path, json_path, glb_path = arkit_paths(out)
    wav = wav_bytes(audio) if audio is not None else None
    basis, solve, faces = solve_sequence(vertices, template, flame_dir, settings)
    paths = write_arkit_files((csv_path, json_path, glb_path), basis, solve, faces, fps)
    if wav is not None:
        paths.append(csv_path.with_suffix(".wav"))
        with atomic_open(paths[-1], "wb") as handle:
            handle.write(wav)
    return ArkitExport(tuple(paths), solve, basis.zero_shapes)
