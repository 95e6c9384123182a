"""Atomic file writing and checked array reading.

Writers put the data into a temporary file in the destination folder and rename it into place,
so an interrupted run never leaves a half-written file and never clobbers a good one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np

from ptalker.errors import PtalkerError


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, marker: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` whole when the block succeeds.

    Readers never see a half-written folder, and a failed run leaves the old one untouched. With
    ``marker`` (a file name the writer puts in every folder it makes), an existing non-empty
    ``path`` without that file is refused rather than replaced: it is not ours to delete.
    """
    path = Path(path)
    if marker is not None and path.is_dir() and any(path.iterdir()) and not (path / marker).is_file():
        raise PtalkerError(f"{path}: exists and is not a folder ptalker wrote (no {marker}); "
                           "choose a new output folder or remove this one")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; a plain mkdir would honour the umask
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as a .npy file atomically."""
    with atomic_open(path, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)


@contextlib.contextmanager
def npy_writer(path: str | os.PathLike, shape: tuple[int, ...],
               dtype=np.float32) -> Iterator[Callable[[np.ndarray], None]]:
    """Write a .npy of ``shape`` block by block along its first axis, atomically: yields a function
    that appends the next block (n, *shape[1:]); the file appears, byte for byte what
    :func:`save_npy` writes of the whole array, when the block of code ends with every row
    written (else no file)."""
    dtype, rows = np.dtype(dtype), 0
    with atomic_open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                      "fortran_order": False, "shape": tuple(shape)})

        def write(block: np.ndarray) -> None:
            nonlocal rows
            block = np.ascontiguousarray(block, dtype=dtype)
            if block.shape[1:] != tuple(shape[1:]) or rows + len(block) > shape[0]:
                raise PtalkerError(f"{path}: a block of shape {block.shape} does not fit an array of {tuple(shape)} "
                                   f"with {rows} rows written")
            handle.write(block.tobytes())
            rows += len(block)

        yield write
        if rows != shape[0]:
            raise PtalkerError(f"{path}: {rows} rows were written of the {shape[0]} announced")


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The timestamp of every member of an .npz we write, so that equal arrays give equal bytes."""


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write named arrays as an uncompressed .npz (np.load reads it) atomically and reproducibly.

    Unlike ``np.savez`` the zip members carry a fixed timestamp: the same arrays give
    byte-identical files.
    """
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def save_json(path: str | os.PathLike, data: object) -> None:
    """Write ``data`` as indented JSON atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")


def save_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Read a numeric .npy file (pickled object arrays and complex numbers are refused).

    Raises:
        PtalkerError: the file is missing, not a .npy file, truncated or holds objects.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: file not found; check the path")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise PtalkerError(
            f"{path}: not a numeric .npy array ({err}); re-export it with numpy.save"
        ) from None
    except (OSError, EOFError) as err:
        raise PtalkerError(
            f"{path}: corrupted or truncated .npy file ({err}); re-create or re-download it"
        ) from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise PtalkerError(f"{path}: holds several arrays (an .npz archive), expected one .npy "
                           "array; save it with numpy.save")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise PtalkerError(f"{path}: expected a numeric array of real numbers, got dtype {array.dtype}; "
                           "save real values (e.g. numpy.real(array) if the imaginary part is zero)")
    return array


def load_npz(path: str | os.PathLike, fix: str) -> dict[str, np.ndarray]:
    """Every array of the .npz archive at ``path`` (pickled objects refused); ``fix`` ends the
    error messages (how to make a good file, e.g. 're-export it').

    Raises:
        PtalkerError: the file is missing or not a readable .npz archive.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: file not found; check the path ({fix})")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise PtalkerError(f"{path}: not a readable .npz archive ({err}); {fix}") from None
