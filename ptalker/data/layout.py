"""The standard data set layout (FaceFormer/CodeTalker convention; docs/architecture.md, "Data contracts").

::

    ROOT/wav/<SUBJECT>_<SENTENCE>.wav
    ROOT/vertices_npy/<SUBJECT>_<SENTENCE>.npy     (T, V*3) or (T, V, 3)
    ROOT/templates.pkl                             {subject: (V, 3)} neutral meshes

Subject is the file stem without its last ``_`` token; sentence is that last token.
Predictions may be named ``<SUBJECT>_<SENTENCE>_condition_<TRAIN SUBJECT>.npy``.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open, load_npy
from ptalker.mesh.checks import to_vertex_sequence
from ptalker.safe_pickle import load_pickle

WAV_DIR = "wav"
VERTICES_DIR = "vertices_npy"
TEMPLATES_FILE = "templates.pkl"
CONDITION_MARK = "_condition_"
TEMPLATES_PICKLE_PROTOCOL = 2
"""Pickle protocol of written templates.pkl files (readable by python-2 era tools)."""
REPORT_MAX_SKIPPED = 10
"""A conversion report lists at most this many skipped sequences by name."""


@dataclass(frozen=True)
class SequenceName:
    """The parts of a sequence file stem."""

    subject: str
    sentence: str
    condition: str | None = None
    """The training subject whose style conditioned a prediction, if the name says so."""

    @property
    def stem(self) -> str:
        """``<subject>_<sentence>``: the ground-truth file stem."""
        return f"{self.subject}_{self.sentence}"


def parse_sequence_name(stem: str) -> SequenceName:
    """Split ``<subject>_<sentence>[_condition_<subject>]`` into its parts.

    Raises:
        PtalkerError: the stem has no ``_`` to separate subject and sentence.
    """
    condition = None
    if CONDITION_MARK in stem:
        stem, condition = stem.split(CONDITION_MARK, 1)
    if "_" not in stem:
        raise PtalkerError(
            f"file name '{stem}' does not follow <SUBJECT>_<SENTENCE>; rename it, "
            "for example FaceTalk_170809_00138_TA_sentence21.npy or F2_e37.npy"
        )
    subject, sentence = stem.rsplit("_", 1)
    return SequenceName(subject, sentence, condition)


def vertices_path(root: str | os.PathLike, name: SequenceName) -> Path:
    return Path(root) / VERTICES_DIR / f"{name.stem}.npy"


def wav_path(root: str | os.PathLike, name: SequenceName) -> Path:
    return Path(root) / WAV_DIR / f"{name.stem}.wav"


def list_sequences(root: str | os.PathLike) -> list[SequenceName]:
    """All sequences with a vertex file under ``root/vertices_npy``, sorted by stem.

    Raises:
        PtalkerError: ``root/vertices_npy`` does not exist.
    """
    folder = Path(root) / VERTICES_DIR
    if not folder.is_dir():
        raise PtalkerError(
            f"{folder}: folder not found; a data set root holds wav/, vertices_npy/ and "
            "templates.pkl (see README, 'Data sets')"
        )
    return [parse_sequence_name(path.stem) for path in sorted(folder.glob("*.npy"))]


def load_templates(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read ``templates.pkl`` (a data set root or the file itself) as {subject: (V, 3) float32}.

    Raises:
        PtalkerError: missing, unsafe or malformed file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / TEMPLATES_FILE
    data = load_pickle(path)
    if not isinstance(data, dict) or not data:
        raise PtalkerError(f"{path}: expected a dict {{subject: (V, 3) array}}, got {type(data).__name__}")
    templates = {}
    for subject, mesh in data.items():
        mesh = np.asarray(mesh, dtype=np.float32)
        if mesh.ndim == 1 and mesh.size % 3 == 0:
            mesh = mesh.reshape(-1, 3)
        if mesh.ndim != 2 or mesh.shape[1] != 3:
            raise PtalkerError(f"{path}: template of '{subject}' has shape {mesh.shape}, expected (V, 3)")
        templates[str(subject)] = mesh
    return templates


def subject_template(templates: dict[str, np.ndarray], subject: str, num_vertices: int | None,
                     source: str, dataset: str) -> np.ndarray:
    """The (V, 3) template of ``subject``, checked against the data set's vertex count.

    Raises:
        PtalkerError: no template for the subject, or a vertex count ``dataset`` does not have.
    """
    if subject not in templates:
        raise PtalkerError(f"{source}: has no template for subject '{subject}' (it has "
                           f"{', '.join(sorted(templates))}); add the subject's neutral mesh")
    template = templates[subject]
    if num_vertices is not None and len(template) != num_vertices:
        raise PtalkerError(
            f"{source}: template of '{subject}' has {len(template)} vertices but data set "
            f"'{dataset}' expects {num_vertices}; use the matching templates.pkl or set "
            "num_vertices in the data set config (--dataset custom --config)"
        )
    return template


def load_vertex_sequence(path: str | os.PathLike, num_vertices: int | None = None) -> np.ndarray:
    """Read a vertex sequence file as (T, V, 3) float32 (see :func:`to_vertex_sequence`)."""
    return to_vertex_sequence(load_npy(path), num_vertices, str(path))


def refuse_overwrite(paths: list[Path], overwrite: bool) -> None:
    """Raise when any of ``paths`` exists and ``overwrite`` is False (checked before writing).

    Raises:
        PtalkerError: naming the first existing file and how many exist.
    """
    if overwrite:
        return
    existing = [path for path in paths if path.exists()]
    if existing:
        raise PtalkerError(
            f"{existing[0]}: already exists ({len(existing)} output file(s) in the way); "
            "pass --overwrite (overwrite=True) to replace them, or choose another --out"
        )


def save_templates(path: str | os.PathLike, templates: dict[str, np.ndarray]) -> None:
    """Write ``{subject: (V, 3) array}`` as a plain pickle of numpy arrays, atomically.

    Protocol 2 keeps the file readable by the python-2 era tools of the field and by
    :func:`load_templates` (the restricted unpickler).
    """
    data = {str(subject): np.ascontiguousarray(mesh) for subject, mesh in templates.items()}
    with atomic_open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=TEMPLATES_PICKLE_PROTOCOL)


@dataclass
class ConversionReport:
    """What a raw-data converter wrote (``ptalker data vocaset|biwi`` prints it)."""

    out_root: Path
    fps: float
    """Frame rate of the written vertex files."""
    written: list[str]
    """Stems of the sequences written."""
    skipped: list[tuple[str, str]]
    """(stem, reason) of the sequences left out."""
    frames: int
    """Frames written over all sequences."""
    seconds: float
    """Audio written over all sequences, in seconds."""

    def __str__(self) -> str:
        lines = [f"wrote {len(self.written)} sequences to {self.out_root}: {self.frames} frames "
                 f"at {self.fps:g} fps, {self.seconds:.1f} s of audio; skipped {len(self.skipped)}"]
        for stem, reason in self.skipped[:REPORT_MAX_SKIPPED]:
            lines.append(f"  skipped {stem}: {reason}")
        if len(self.skipped) > REPORT_MAX_SKIPPED:
            lines.append(f"  ... and {len(self.skipped) - REPORT_MAX_SKIPPED} more skipped")
        return "\n".join(lines)
