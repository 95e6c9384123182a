"""The rules of an output folder that ``ptalker animate`` and ``ptalker batch`` write into.

- **Ownership.** A folder is ptalker's when it holds :data:`MANIFEST_FILE` (written last by every
  run that writes into it: what was written, when, by which version). A new or empty folder
  becomes ptalker's; an existing folder with other files and no manifest is refused unless
  ``overwrite`` (then ptalker's files of the same names are replaced and the others are kept).
  ``--out`` naming a file is refused.
- **One writer.** The folder is locked for the whole run by :data:`LOCK_FILE`, created with
  ``O_CREAT | O_EXCL`` and holding the writer's pid and host; a second process is refused with
  the first one's pid. A lock left by a process that is gone (same host, pid not running) is
  taken over; the lock is removed when the run ends, also on errors.
- **Atomic.** Outputs are written into a staging folder inside the target (``.ptalker-staging-*``)
  and renamed into place when all are written; files a previous run listed in its manifest and
  this run did not write are removed, so the folder never mixes two runs' outputs (OBJ frames
  included). Staging folders of killed runs are removed by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ptalker import __version__
from ptalker.errors import PtalkerError
from ptalker.fileio import save_json

MANIFEST_FILE = "ptalker_output.json"
"""The marker and record of a folder ptalker wrote."""
LOCK_FILE = ".ptalker.lock"
STAGING_PREFIX = ".ptalker-staging-"
UNREADABLE_LOCK_AGE_S = 10.0
"""A lock file without a readable pid (its writer died between creating and filling it) older than this is stale."""


def _process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, under another user
        return True
    return True


def _read_lock(path: Path) -> dict | None:
    """The lock's content, or None when it is unreadable (or gone)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def _stale(path: Path, holder: dict | None) -> bool:
    """Whether the lock at ``path`` (content ``holder``) was left by a process that is gone."""
    if holder is None:
        with contextlib.suppress(OSError):
            return time.time() - path.stat().st_mtime > UNREADABLE_LOCK_AGE_S
        return False
    return holder.get("host") == socket.gethostname() and not _process_alive(holder["pid"])


class FolderLock:
    """The exclusive lock of an output folder (see the module doc); a context manager."""

    def __init__(self, folder: Path, what: str = "--out"):
        self.path = folder / LOCK_FILE
        self.what = what
        self.mine = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(self.mine))
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def acquire(self) -> None:
        if self._create():
            return
        holder = _read_lock(self.path)
        if _stale(self.path, holder):
            aside = self.path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.rename(self.path, aside)  # one taker wins the rename; the others find its new lock
                if _read_lock(aside) != holder:  # a live lock was renamed in a race: put it back
                    with contextlib.suppress(FileExistsError):
                        os.link(aside, self.path)
                os.unlink(aside)
            if self._create():
                return
            holder = _read_lock(self.path)
        who = f"pid {holder['pid']} on {holder.get('host')}, since {holder.get('since')}" if holder else "a process"
        raise PtalkerError(f"{self.what} {self.path.parent}: another ptalker process ({who}) is writing into this "
                           f"folder; wait for it to finish or choose another folder (a lock left by a process that "
                           f"is gone is taken over; {self.path} names it)")

    def release(self) -> None:
        if _read_lock(self.path) == self.mine:
            self.path.unlink()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder``, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_out_path(out: str | os.PathLike, overwrite: bool = False, what: str = "--out") -> Path:
    """``out`` as a Path after checking it may be written into (see the module doc); creates nothing.

    Raises:
        PtalkerError: ``out`` is a file, or a folder with files ptalker did not write and no ``overwrite``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PtalkerError(f"{what} {out}: is a file, not a folder; give a folder name (ptalker writes vertices.npy "
                           "and the exports into it)")
    if out.is_dir() and not overwrite and not (out / MANIFEST_FILE).is_file():
        foreign = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE and not p.name.startswith(STAGING_PREFIX))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise PtalkerError(f"{what} {out}: holds files ptalker did not write ({shown}; no {MANIFEST_FILE}); "
                               f"choose a new or empty folder, or add --overwrite to write into it (files of the "
                               f"same names are replaced, the others kept)")
    return out


@dataclass
class Staging:
    """Where a run writes its outputs before they are moved into the folder (see :func:`output_folder`)."""

    folder: Path
    """The target folder."""
    path: Path
    """The staging folder: write the outputs here."""
    record: dict = field(default_factory=dict)
    """Extra entries for the manifest (inputs, options)."""
    written: list[Path] = field(default_factory=list)
    """After the block: the paths in the target folder, in the order they were staged."""

    def final(self, paths: list[Path]) -> list[Path]:
        """``paths`` in the staging folder, as they will lie in the target folder."""
        return [self.folder / Path(p).relative_to(self.path) for p in paths]


def write_manifest(folder: Path, names: list[str], kind: str, record: dict) -> None:
    """Write ``folder``'s :data:`MANIFEST_FILE` (atomically): the ``names`` written, by ``kind``."""
    save_json(folder / MANIFEST_FILE, {"written_by": f"ptalker {__version__}", "command": kind,
                                       "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": names, **record})


def _move_into(staging: Path, folder: Path) -> list[str]:
    """Move every entry of ``staging`` into ``folder`` (a folder entry replaces the old one whole); their names."""
    names = sorted(p.name for p in staging.iterdir())
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            old = staging / f".old-{name}"
            os.rename(target, old)
        os.replace(staging / name, target)
    return names


@contextlib.contextmanager
def output_folder(out: str | os.PathLike, overwrite: bool = False, kind: str = "animate",
                  what: str = "--out") -> Iterator[Staging]:
    """Lock ``out``, check it may be written (see the module doc) and yield a :class:`Staging`; when
    the block succeeds its outputs are moved into ``out``, the previous run's left-overs removed and
    the manifest written. On an error nothing in ``out`` changes (a folder this call made is removed).

    Raises:
        PtalkerError: ``out`` is a file, another process writes into it, or it holds files ptalker
            did not write (without ``overwrite``).
    """
    out = check_out_path(out, overwrite, what)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with FolderLock(out, what):
            check_out_path(out, overwrite, what)  # again, now that no other ptalker can change it
            for stale in out.glob(f"{STAGING_PREFIX}*"):
                shutil.rmtree(stale, ignore_errors=True)
            staging = Staging(out, Path(tempfile.mkdtemp(dir=out, prefix=STAGING_PREFIX)))
            try:
                yield staging
                previous = read_manifest(out) or {}
                names = _move_into(staging.path, out)
                for name in previous.get("files", []):
                    leftover = out / name
                    if name not in names and "/" not in name and not name.startswith(".") and leftover.exists():
                        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
                write_manifest(out, names, kind, staging.record)
                staging.written = staging.final(staging.written)
            finally:
                shutil.rmtree(staging.path, ignore_errors=True)
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()  # only when empty
        raise
