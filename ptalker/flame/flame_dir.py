"""Which FLAME directory is used: an explicit path, else $PTALKER_FLAME_DIR, else ``assets/flame/user``
in a source checkout when it holds a model, else the built-in stand-in head (generated into the
cache on first use). The directory's files: :mod:`ptalker.flame.flame_files`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptalker.flame.flame_files import MODEL_FILE
from ptalker.flame.standin import ensure_standin_dir

ENV_VAR = "PTALKER_FLAME_DIR"


def user_flame_dir() -> Path:
    """Where ``ptalker flame import`` writes by default (git-ignored in a source checkout)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    checkout = Path(__file__).resolve().parents[2] / "assets" / "flame"
    if checkout.is_dir():
        return checkout / "user"
    return Path.home() / ".local" / "share" / "ptalker" / "flame"


def resolve_flame_dir(flame_dir: str | os.PathLike | None = None) -> Path:
    """The FLAME directory to use (see module docstring); generates the stand-in if needed."""
    if flame_dir is not None:
        return Path(flame_dir)
    user = user_flame_dir()
    if os.environ.get(ENV_VAR) or (user / MODEL_FILE).is_file():
        return user
    return ensure_standin_dir()
