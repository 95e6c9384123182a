"""Convert the raw BIWI 3D Audiovisual Corpus of Affective Communication to the standard layout.

**The .vl frame format** (one tracked face mesh per file, ``frame_001.vl``, ``frame_002.vl``,
... at 25 fps), as read by the field's BIWI preprocessing (CodeTalker's
``BIWI/data_preprocess/creatDataset_BIWI.m``: ``fread(fid, 1, 'ulong')`` then
``fread(fid, [3, n], 'float')``; a C++ viewer's ``read_vl`` reads the same)::

    offset 0   uint32, little-endian      V, the number of vertices (23370 for BIWI)
    offset 4   V x 3 float32, little-endian  x0 y0 z0 x1 y1 z1 ... (one vertex after another)

The file is exactly ``4 + 12 * V`` bytes; anything else is reported as corrupted. Vertices
follow the vertex order of the subject's rigid scan ``.obj`` (the generic face template), with
the global head rotation and translation already removed.

**Expected raw folder** (RAW, the unpacked download; sentence ids e01..e40 are the emotional
readings the field uses; the neutral readings 01..40 are not converted)::

    RAW/faces/<subject>/<sentence>/frame_XXX.vl   one folder per sequence (an unpacked .tar,
                                                  subfolders searched too) ...
    RAW/faces/<subject>/<sentence>.tar            ... or the download's .tar of the frames
    RAW/rigid_scans/<subject>.obj                 neutral scan: the template (23370 vertices)
    audio, the first that exists:
    RAW/wav/<subject>_<sentence>.wav              (FaceFormer's placement)
    RAW/audio/<subject>_<sentence>.wav
    RAW/audio/<subject>/<sentence>.wav

Subjects F1..F8 and M1..M6. The download's audio also sits in the rendered videos; extract it
with ``ffmpeg -i videos/F1_e01.flv -ar 44100 wav/F1_e01.wav``. Sequences with missing or
unreadable frames, audio or template are skipped and listed in the report; they never stop the
conversion.

**Normalisation** (``normalize=True``, the default): every frame and every template is mapped as
CodeTalker's preprocessing does, so numbers compare with the field's BIWI results: rotate by pi
about the x axis (x, y, z) -> (x, -y, -z); subtract the mean vertex; divide by the square root of
the mesh's total surface area (triangles of the rigid scan's faces; CodeTalker sums mixed
Voronoi vertex areas, which add up to the same total). The result is unitless. Agreement with
CodeTalker's files is to float32 precision, up to the text rounding of its intermediate .off
files. With ``normalize=False`` the raw coordinates are written unchanged.

Written under OUT: ``wav/<subject>_<sentence>.wav`` (a byte copy of the raw audio),
``vertices_npy/<subject>_<sentence>.npy`` (T, 23370*3) float32 at 25 fps, ``templates.pkl``
({subject: (23370, 3) float32}), ``faces.npy`` ((F, 3) int64, the rigid scans' triangles, which
training needs: :mod:`ptalker.mesh.topology`) and ``layout.json`` ({"fps": 25, "normalization": ...}).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import soundfile

from ptalker.audio.io import load_audio
from ptalker.constants import BIWI_FPS, BIWI_NUM_VERTICES
from ptalker.data.layout import (
    TEMPLATES_FILE,
    ConversionReport,
    SequenceName,
    refuse_overwrite,
    save_templates,
    vertices_path,
    wav_path,
)
from ptalker.data.splits import BIWI_TEST_B, BIWI_TRAIN, LAYOUT_INFO_FILE
from ptalker.data.topology import FACES_FILE
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open, save_json, save_npy

VL_HEADER = struct.Struct("<I")
"""The .vl header: the vertex count as a little-endian uint32."""
VL_DTYPE = np.dtype("<f4")
"""The .vl body: little-endian float32 x, y, z per vertex."""
VL_SUFFIX = ".vl"
BIWI_SUBJECTS = sorted(BIWI_TRAIN + BIWI_TEST_B)
BIWI_NUM_SENTENCES = 40
SENTENCE_PREFIX = "e"
"""BIWI's emotional readings e01..e40, the sequences the field trains and tests on."""
BIWI_SENTENCES = [f"{SENTENCE_PREFIX}{i:02d}" for i in range(1, BIWI_NUM_SENTENCES + 1)]
FLIP_YZ = np.array([1.0, -1.0, -1.0])
"""Rotation by pi about the x axis, as a per-axis sign (CodeTalker's ``V * rotx``)."""
NORMALIZATION_CODETALKER = "codetalker"
NORMALIZATION_NONE = "none"
FACES_DIR, SCANS_DIR = "faces", "rigid_scans"
EXPECTED_LAYOUT = ("faces/<subject>/e01/frame_001.vl (or faces/<subject>/e01.tar), "
                   "rigid_scans/<subject>.obj and wav/<subject>_e01.wav")


def parse_vl(data: bytes, source: str) -> np.ndarray:
    """Decode the bytes of a .vl file (format in the module docstring) as (V, 3) float32.

    Raises:
        PtalkerError: too short, a size that disagrees with the header, or non-finite values.
    """
    if len(data) < VL_HEADER.size:
        raise PtalkerError(f"{source}: {len(data)} bytes, too short for a BIWI .vl file; "
                           "re-extract it from the download")
    (count,) = VL_HEADER.unpack_from(data)
    expected = VL_HEADER.size + count * 3 * VL_DTYPE.itemsize
    if len(data) != expected:
        raise PtalkerError(f"{source}: header says {count} vertices ({expected} bytes) but the "
                           f"file has {len(data)} bytes; it is truncated or not a BIWI .vl file")
    vertices = np.frombuffer(data, dtype=VL_DTYPE, offset=VL_HEADER.size).reshape(count, 3)
    if not np.all(np.isfinite(vertices)):
        raise PtalkerError(f"{source}: holds NaN or infinite coordinates; re-extract it")
    return vertices.astype(np.float32)


def read_vl(path: str | os.PathLike) -> np.ndarray:
    """Read one BIWI .vl frame as (V, 3) float32 (format in the module docstring).

    Raises:
        PtalkerError: missing file or malformed content.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: .vl file not found; check the path")
    return parse_vl(path.read_bytes(), str(path))


def _frame_key(name: str) -> tuple[int, str]:
    """Sort frames by the number in the file name (frame_2 before frame_10)."""
    digits = re.findall(r"\d+", Path(name).stem)
    return (int(digits[-1]) if digits else -1, name)


def _frame_source(raw_dir: Path, name: SequenceName) -> Path | None:
    """The folder or .tar holding the sequence's .vl frames, or None."""
    base = raw_dir / FACES_DIR / name.subject / name.sentence
    if base.is_dir():
        return base
    tar = base.with_name(f"{name.sentence}.tar")
    return tar if tar.is_file() else None


def read_vl_sequence(source: str | os.PathLike) -> np.ndarray:
    """All .vl frames of a sequence folder or .tar, in frame-number order, as (T, V, 3) float32.

    Raises:
        PtalkerError: no .vl frames, a malformed frame, frames of different vertex counts.
    """
    source = Path(source)
    frames = []
    if source.is_dir():
        for path in sorted(source.rglob(f"*{VL_SUFFIX}"), key=lambda p: _frame_key(p.name)):
            frames.append(read_vl(path))
    else:
        try:
            with tarfile.open(source) as archive:
                members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(VL_SUFFIX)]
                for member in sorted(members, key=lambda m: _frame_key(m.name)):
                    frames.append(parse_vl(archive.extractfile(member).read(), f"{source}:{member.name}"))
        except (tarfile.TarError, OSError, EOFError) as err:
            raise PtalkerError(f"{source}: unreadable tar archive ({err}); re-download it") from None
    if not frames:
        raise PtalkerError(f"{source}: holds no {VL_SUFFIX} frames")
    counts = {frame.shape[0] for frame in frames}
    if len(counts) > 1:
        raise PtalkerError(f"{source}: frames have different vertex counts {sorted(counts)}")
    return np.stack(frames)  # (T, V, 3)


def _obj_face(tokens: list[str], num_vertices: int) -> list[list[int]]:
    """Triangles (fan) of one OBJ face line's ``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn`` tokens."""
    corners = []
    for token in tokens:
        index = int(token.split("/")[0])
        corners.append(index - 1 if index > 0 else num_vertices + index)  # 1-based or relative
    return [[corners[0], corners[i], corners[i + 1]] for i in range(1, len(corners) - 1)]


def read_rigid_scan(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 in file order and triangles (F, 3) int64 of a rigid-scan .obj.

    Every ``v`` line is kept, in order, so vertex i matches vertex i of the .vl frames. (trimesh's
    OBJ loader cannot promise that: it drops unused vertices or splits them at texture seams.)

    Raises:
        PtalkerError: missing or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: rigid scan not found; BIWI's rigid_scans/ holds <subject>.obj")
    vertices, faces = [], []
    try:
        for line in path.read_text(errors="replace").splitlines():
            tokens = line.split()
            if tokens and tokens[0] == "v":
                if len(tokens) < 4:
                    raise ValueError(f"vertex line '{line.strip()}' has fewer than 3 coordinates")
                vertices.append([float(value) for value in tokens[1:4]])
            elif tokens and tokens[0] == "f":
                faces.extend(_obj_face(tokens[1:], len(vertices)))
        vertices = np.array(vertices, dtype=np.float64).reshape(-1, 3)
    except ValueError as err:
        raise PtalkerError(f"{path}: not a readable .obj mesh ({err}); re-extract it") from None
    faces = np.array(faces, dtype=np.int64).reshape(-1, 3)
    if vertices.shape[0] == 0 or faces.shape[0] == 0:
        raise PtalkerError(f"{path}: the .obj holds no vertices or no faces; re-extract it")
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise PtalkerError(f"{path}: a face refers to a vertex that does not exist; re-extract it")
    return vertices, faces


def normalize_meshes(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """CodeTalker's BIWI normalisation of (..., V, 3) meshes (see module docstring).

    Returns:
        (..., V, 3) float32: flipped, centred and divided by sqrt(total surface area).
    """
    v = np.asarray(vertices, dtype=np.float64) * FLIP_YZ  # (..., V, 3)
    v = v - v.mean(axis=-2, keepdims=True)
    corners = v[..., faces, :]  # (..., F, 3 corners, 3)
    cross = np.cross(corners[..., 1, :] - corners[..., 0, :], corners[..., 2, :] - corners[..., 0, :])
    area = 0.5 * np.linalg.norm(cross, axis=-1).sum(axis=-1)  # (...,)
    if np.any(area <= 0):
        raise PtalkerError("BIWI normalisation: a mesh has zero surface area; check the "
                           "rigid scan's faces, or convert with normalize=False")
    return (v / np.sqrt(area)[..., None, None]).astype(np.float32)


def _find_audio(raw_dir: Path, name: SequenceName) -> Path | None:
    for path in (raw_dir / "wav" / f"{name.stem}.wav", raw_dir / "audio" / f"{name.stem}.wav",
                 raw_dir / "audio" / name.subject / f"{name.sentence}.wav"):
        if path.is_file():
            return path
    return None


def _load_templates(raw_dir: Path, normalize: bool, skipped: list) -> dict[str, tuple]:
    """{subject: (faces (F, 3), written template (V, 3))} of every subject with frames and a
    usable rigid scan; the others go to ``skipped``.
    """
    templates = {}
    for subject in BIWI_SUBJECTS:
        if not (raw_dir / FACES_DIR / subject).is_dir():
            skipped.append((f"{subject}_*", f"no {FACES_DIR}/{subject} folder"))
            continue
        path = raw_dir / SCANS_DIR / f"{subject}.obj"
        try:
            vertices, faces = read_rigid_scan(path)
            if vertices.shape[0] != BIWI_NUM_VERTICES:
                raise PtalkerError(f"{path}: has {vertices.shape[0]} vertices, expected "
                                   f"{BIWI_NUM_VERTICES} (the BIWI face template)")
            template = normalize_meshes(vertices, faces) if normalize else vertices.astype(np.float32)
        except PtalkerError as err:
            skipped.append((f"{subject}_*", str(err)))
            continue
        templates[subject] = (faces, template)
    first = next(iter(templates.values()), None)
    for subject, (faces, _) in list(templates.items()):
        if not np.array_equal(faces, first[0]):  # one data set, one topology
            skipped.append((f"{subject}_*", f"{SCANS_DIR}/{subject}.obj: its triangles differ from the other scans'"))
            del templates[subject]
    return templates


def _plan(raw_dir: Path, subjects: list[str], skipped: list) -> list[tuple[SequenceName, Path, Path]]:
    """(name, frame source, audio path) of every sequence whose files exist."""
    planned = []
    for subject in subjects:
        for sentence in BIWI_SENTENCES:
            name = SequenceName(subject, sentence)
            frames, audio = _frame_source(raw_dir, name), _find_audio(raw_dir, name)
            if frames is None:
                skipped.append((name.stem, f"no frames in {FACES_DIR}/{subject}/{sentence}[.tar]"))
            elif audio is None:
                skipped.append((name.stem, f"no audio (looked for wav/{name.stem}.wav and audio/)"))
            else:
                planned.append((name, frames, audio))
    return planned


def _convert_one(name: SequenceName, frames: Path, audio: Path, template: tuple, out_root: Path,
                 normalize: bool) -> tuple[int, float]:
    """Write one sequence; returns (frames, seconds). Raises PtalkerError when unusable."""
    faces, mesh = template
    meshes = read_vl_sequence(frames)  # (T, V, 3)
    if meshes.shape[1] != mesh.shape[0]:
        raise PtalkerError(f"{frames}: frames have {meshes.shape[1]} vertices but the rigid scan "
                           f"has {mesh.shape[0]}")
    load_audio(audio)  # checks it is readable, non-empty and not silent
    if normalize:
        meshes = np.stack([normalize_meshes(frame, faces) for frame in meshes])
    save_npy(vertices_path(out_root, name), meshes.reshape(meshes.shape[0], -1))  # (T, V*3)
    with open(audio, "rb") as source, atomic_open(wav_path(out_root, name), "wb") as target:
        shutil.copyfileobj(source, target)
    return meshes.shape[0], float(soundfile.info(str(audio)).duration)


def convert_biwi(raw_dir: str | os.PathLike, out_root: str | os.PathLike, overwrite: bool = False,
                 normalize: bool = True) -> ConversionReport:
    """Write the raw BIWI data in ``raw_dir`` (layout in the module docstring) under ``out_root``.

    Args:
        raw_dir: the unpacked BIWI download.
        out_root: data set root to write (wav/, vertices_npy/, templates.pkl, layout.json).
        overwrite: replace existing output files; otherwise any existing one is an error.
        normalize: apply the field's (CodeTalker's) normalisation; False keeps raw coordinates.

    Raises:
        PtalkerError: ``raw_dir/faces`` missing, no convertible sequence at all, or existing
            outputs without ``overwrite``. Individual bad sequences are skipped, not raised.
    """
    raw_dir, out_root = Path(raw_dir), Path(out_root)
    if not (raw_dir / FACES_DIR).is_dir():
        raise PtalkerError(f"{raw_dir / FACES_DIR}: folder not found; give the unpacked BIWI "
                           f"download, which holds {EXPECTED_LAYOUT}")
    skipped: list[tuple[str, str]] = []
    templates = _load_templates(raw_dir, normalize, skipped)
    planned = _plan(raw_dir, sorted(templates), skipped)
    if not planned:
        first = f" (first problem: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise PtalkerError(f"{raw_dir}: no BIWI sequence with frames, audio and a rigid scan "
                           f"found{first}; expected {EXPECTED_LAYOUT}")
    outputs = [out_root / TEMPLATES_FILE, out_root / FACES_FILE, out_root / LAYOUT_INFO_FILE]
    for name, _, _ in planned:
        outputs += [vertices_path(out_root, name), wav_path(out_root, name)]
    refuse_overwrite(outputs, overwrite)
    # layout.json first: a root left by an interrupted run still states fps and normalisation
    save_json(out_root / LAYOUT_INFO_FILE, {
        "fps": BIWI_FPS, "normalization": NORMALIZATION_CODETALKER if normalize else NORMALIZATION_NONE})
    save_templates(out_root / TEMPLATES_FILE, {s: mesh for s, (_, mesh) in templates.items()})
    save_npy(out_root / FACES_FILE, next(iter(templates.values()))[0])
    written, frames, seconds = [], 0, 0.0
    for name, source, audio in planned:
        try:
            count, duration = _convert_one(name, source, audio, templates[name.subject],
                                           out_root, normalize)
        except PtalkerError as err:
            skipped.append((name.stem, str(err)))
            continue
        written.append(name.stem)
        frames, seconds = frames + count, seconds + duration
    return ConversionReport(out_root, BIWI_FPS, written, skipped, frames, seconds)
