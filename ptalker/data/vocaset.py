"""Convert the raw VOCASET download into the standard layout.

The raw training-data download (https://voca.is.tue.mpg.de), all files in one folder RAW::

    data_verts.npy        (N, V, 3) float, V = 5023: every captured mesh, 60 fps
    raw_audio_fixed.pkl   {subject: {sentence: {'audio': (S,) int16 or float, 'sample_rate': 22000}}}
    subj_seq_to_idx.pkl   {subject: {sentence: {frame_number: row of data_verts.npy}}}
    templates.pkl         {subject: (V, 3)} neutral meshes

These are the files FaceFormer's ``vocaset/process_voca_data.py`` reads; this converter writes
the same layout (its output loads wherever FaceFormer-style loaders expect one)::

    OUT/wav/<subject>_<sentence>.wav          the raw audio at its raw sample rate (22 kHz),
                                              16-bit PCM when the raw samples are int16, else
                                              32-bit float: a lossless copy (loaders resample)
    OUT/vertices_npy/<subject>_<sentence>.npy (T, V*3) float32, frames in frame-number order:
                                              all frames at 60 fps, or every second frame
                                              (the first, third, ...) at 30 fps
    OUT/templates.pkl                         the raw templates, a plain pickle of numpy arrays
    OUT/layout.json                           {"fps": 60 or 30}

The vertex count V is taken from data_verts.npy and checked against the templates. Sequences
without audio, without frames, or with unusable entries are skipped and reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from ptalker.audio.io import check_waveform
from ptalker.constants import INT16_FULL_SCALE, VOCASET_CAPTURE_FPS, VOCASET_FPS
from ptalker.data.layout import (
    TEMPLATES_FILE,
    ConversionReport,
    SequenceName,
    refuse_overwrite,
    save_templates,
    vertices_path,
    wav_path,
)
from ptalker.data.splits import LAYOUT_INFO_FILE
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open, save_json, save_npy
from ptalker.safe_pickle import load_pickle

VERTS_FILE = "data_verts.npy"
AUDIO_FILE = "raw_audio_fixed.pkl"
INDEX_FILE = "subj_seq_to_idx.pkl"
RAW_FILES = (VERTS_FILE, AUDIO_FILE, INDEX_FILE, TEMPLATES_FILE)
WAV_SUBTYPE_INT16 = "PCM_16"
WAV_SUBTYPE_FLOAT = "FLOAT"


@dataclass
class _Sequence:
    """One sequence planned for writing."""

    name: SequenceName
    rows: np.ndarray
    """(T,) rows of data_verts.npy, in frame order, already subsampled."""
    audio: np.ndarray
    """(S,) raw samples, int16 or float32."""
    rate_hz: int


def _raw_paths(raw_dir: Path) -> dict[str, Path]:
    """Paths of the four raw files; raises a one-line PtalkerError for the first missing one."""
    paths = {name: raw_dir / name for name in RAW_FILES}
    for path in paths.values():
        if not path.is_file():
            raise PtalkerError(
                f"{path}: not found; the VOCASET training-data download holds "
                f"{', '.join(RAW_FILES)}: put all four in {raw_dir}"
            )
    return paths


def _load_verts(path: Path) -> np.ndarray:
    """data_verts.npy memory-mapped as (N, V, 3); nothing is read yet."""
    try:
        verts = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise PtalkerError(f"{path}: corrupted or not a numeric .npy file ({err}); "
                           "re-download the VOCASET training data") from None
    if verts.ndim != 3 or verts.shape[2] != 3 or not np.issubdtype(verts.dtype, np.number):
        raise PtalkerError(f"{path}: expected a numeric array (N, V, 3), got {verts.dtype} "
                           f"{verts.shape}; re-download the VOCASET training data")
    return verts


def _load_dict(path: Path, what: str) -> dict:
    """A raw pickle that must hold a non-empty dict ``what`` describes."""
    data = load_pickle(path)
    if not isinstance(data, dict) or not data:
        raise PtalkerError(f"{path}: expected a dict {what}, got {type(data).__name__}; "
                           "re-download the VOCASET training data")
    return data


def _load_raw_templates(path: Path, num_vertices: int) -> dict[str, np.ndarray]:
    """{subject: (V, 3)} with the dtype of the raw file, checked against ``num_vertices``."""
    templates = {}
    for subject, mesh in _load_dict(path, "{subject: (V, 3) array}").items():
        mesh = np.asarray(mesh)
        if mesh.ndim == 1 and mesh.size == num_vertices * 3:
            mesh = mesh.reshape(num_vertices, 3)
        if mesh.shape != (num_vertices, 3) or not np.issubdtype(mesh.dtype, np.number):
            raise PtalkerError(
                f"{path}: template of '{subject}' has shape {mesh.shape}, expected "
                f"({num_vertices}, 3) like the meshes in {VERTS_FILE}; re-download the data"
            )
        templates[str(subject)] = mesh
    return templates


def _frame_rows(frames: object, step: int, num_rows: int) -> np.ndarray:
    """(T,) data_verts rows of ``{frame_number: row}`` in frame order, every ``step``-th."""
    if not isinstance(frames, dict) or not frames:
        raise ValueError("no frames in subj_seq_to_idx.pkl")
    order = sorted(frames, key=int)
    rows = np.array([int(frames[frame]) for frame in order], dtype=np.int64)[::step]
    if rows.min() < 0 or rows.max() >= num_rows:
        raise ValueError(f"frame rows outside data_verts.npy (0..{num_rows - 1})")
    return rows


def _audio_entry(entry: object, source: str) -> tuple[np.ndarray, int]:
    """(S,) samples (int16 or float32) and the sample rate of one raw audio entry."""
    if not isinstance(entry, dict) or "audio" not in entry or "sample_rate" not in entry:
        raise ValueError("audio entry lacks 'audio' or 'sample_rate'")
    samples = np.asarray(entry["audio"])
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)  # (S, 1) or (1, S) -> (S,)
    if samples.dtype != np.int16:
        samples = samples.astype(np.float32)
    as_float = samples / INT16_FULL_SCALE if samples.dtype == np.int16 else samples
    try:
        check_waveform(as_float, source)
    except PtalkerError as err:
        raise ValueError(str(err).split(": ", 1)[-1]) from None
    rate_hz = int(entry["sample_rate"])
    if rate_hz <= 0:
        raise ValueError(f"sample_rate {rate_hz} is not positive")
    return samples, rate_hz


def _plan(index: dict, audio: dict, step: int, num_rows: int) -> tuple[list[_Sequence], list]:
    """Sequences to write and (stem, reason) of those skipped."""
    planned, skipped = [], []
    for subject in sorted(index, key=str):
        sentences = index[subject] if isinstance(index[subject], dict) else {}
        subject_audio = audio.get(subject, {}) if isinstance(audio.get(subject), dict) else {}
        for sentence in sorted(sentences, key=str):
            name = SequenceName(str(subject), str(sentence))
            try:
                rows = _frame_rows(sentences[sentence], step, num_rows)
                if sentence not in subject_audio:
                    raise ValueError(f"no audio in {AUDIO_FILE}")
                samples, rate = _audio_entry(subject_audio[sentence], f"{AUDIO_FILE}[{name.stem}]")
            except (ValueError, TypeError) as err:
                skipped.append((name.stem, str(err)))
                continue
            planned.append(_Sequence(name, rows, samples, rate))
    for subject in sorted(audio, key=str):
        known = index.get(subject, {}) if isinstance(index.get(subject), dict) else {}
        for sentence in sorted(audio[subject] if isinstance(audio[subject], dict) else {}, key=str):
            if sentence not in known:
                skipped.append((f"{subject}_{sentence}", f"audio but no frames in {INDEX_FILE}"))
    return planned, skipped


def _write_wav(path: Path, samples: np.ndarray, rate_hz: int) -> None:
    subtype = WAV_SUBTYPE_INT16 if samples.dtype == np.int16 else WAV_SUBTYPE_FLOAT
    with atomic_open(path, "wb") as handle:
        soundfile.write(handle, samples, rate_hz, format="WAV", subtype=subtype)


def convert_vocaset(raw_dir: str | os.PathLike, out_root: str | os.PathLike,
                    fps: int = VOCASET_FPS, overwrite: bool = False) -> ConversionReport:
    """Write the raw VOCASET download in ``raw_dir`` as the standard layout under ``out_root``.

    Args:
        raw_dir: folder with data_verts.npy, raw_audio_fixed.pkl, subj_seq_to_idx.pkl and
            templates.pkl.
        out_root: data set root to write (wav/, vertices_npy/, templates.pkl, layout.json).
        fps: 60 (every captured frame) or 30 (every second frame, as the field trains).
        overwrite: replace existing output files; otherwise any existing one is an error.

    Raises:
        PtalkerError: a missing, unsafe or malformed raw file, an unsupported fps, or
            existing outputs without ``overwrite``.
    """
    if fps not in (VOCASET_CAPTURE_FPS, VOCASET_FPS):
        raise PtalkerError(f"fps {fps}: VOCASET converts at {VOCASET_CAPTURE_FPS} (as captured) "
                           f"or {VOCASET_FPS} (every second frame); pass --fps 60 or --fps 30")
    raw_dir, out_root = Path(raw_dir), Path(out_root)
    paths = _raw_paths(raw_dir)
    verts = _load_verts(paths[VERTS_FILE])
    templates = _load_raw_templates(paths[TEMPLATES_FILE], verts.shape[1])
    index = _load_dict(paths[INDEX_FILE], "{subject: {sentence: {frame: row}}}")
    audio = _load_dict(paths[AUDIO_FILE], "{subject: {sentence: {'audio', 'sample_rate'}}}")
    planned, skipped = _plan(index, audio, VOCASET_CAPTURE_FPS // fps, verts.shape[0])
    outputs = [out_root / TEMPLATES_FILE, out_root / LAYOUT_INFO_FILE]
    for seq in planned:
        outputs += [vertices_path(out_root, seq.name), wav_path(out_root, seq.name)]
    refuse_overwrite(outputs, overwrite)
    # layout.json first: a root left by an interrupted run still states its frame rate
    save_json(out_root / LAYOUT_INFO_FILE, {"fps": fps})
    save_templates(out_root / TEMPLATES_FILE, templates)
    frames, seconds = 0, 0.0
    for seq in planned:
        mesh = np.asarray(verts[seq.rows], dtype=np.float32)  # (T, V, 3)
        save_npy(vertices_path(out_root, seq.name), mesh.reshape(mesh.shape[0], -1))  # (T, V*3)
        _write_wav(wav_path(out_root, seq.name), seq.audio, seq.rate_hz)
        frames += mesh.shape[0]
        seconds += seq.audio.shape[0] / seq.rate_hz
    return ConversionReport(out_root, fps, [seq.name.stem for seq in planned], skipped,
                            frames, seconds)
