"""Shared fixtures: an isolated cache for the stand-in head, and the stand-in itself.

The autouse session fixture below points $PTALKER_CACHE at a session temporary folder and
removes $PTALKER_FLAME_DIR before any test runs, so no test (in any file) reads or writes
~/.cache or picks up a developer's FLAME model from the environment. The stand-in head is
generated once per session (about 10 s) into that folder; later uses read it from there.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

CACHE_ENV = "PTALKER_CACHE"
FLAME_DIR_ENV = "PTALKER_FLAME_DIR"


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Session-wide: $PTALKER_CACHE -> a temporary folder, $PTALKER_FLAME_DIR unset."""
    saved = {name: os.environ.get(name) for name in (CACHE_ENV, FLAME_DIR_ENV)}
    cache = tmp_path_factory.mktemp("ptalker_cache")
    os.environ[CACHE_ENV] = str(cache)
    os.environ.pop(FLAME_DIR_ENV, None)
    yield cache
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def standin_dir(isolated_cache):
    """The stand-in FLAME directory inside the session cache (built on first use)."""
    from ptalker.flame.standin import ensure_standin_dir

    path = ensure_standin_dir()
    assert str(path).startswith(str(isolated_cache)), f"stand-in built outside the test cache: {path}"
    return path


@pytest.fixture(scope="session")
def standin_model(standin_dir):
    """FlameModel of the stand-in head (explicit directory, so a user FLAME never sneaks in)."""
    from ptalker.flame.flame_model import FlameModel

    return FlameModel.load(standin_dir)


@pytest.fixture(scope="session")
def standin_head(standin_dir):
    """What build_standin() returns, read back from the cached directory (no second build)."""
    from ptalker.flame.flame_dir import INFO_FILE, MASKS_FILE, read_flame_dir
    from ptalker.flame.safe_pickle import load_pickle

    model, embedding = read_flame_dir(standin_dir)
    masks = load_pickle(standin_dir / MASKS_FILE)
    info = json.loads((standin_dir / INFO_FILE).read_text())
    return {"model": model, "embedding": embedding, "masks": masks, "info": info}


@pytest.fixture(scope="session")
def standin_topology():
    """The stand-in's topology bookkeeping (slits, bag, eyeballs); vertex ids match the model."""
    from ptalker.flame.standin.mesh import build_topology

    return build_topology()


def assert_allclose(actual, expected, atol: float, what: str = "value") -> None:
    """Like np.testing.assert_allclose (absolute), reporting the max difference and where."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.size == 0:
        return
    diff = np.abs(actual - expected)
    diff = np.where(np.isnan(actual) != np.isnan(expected), np.inf, np.nan_to_num(diff))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[where] <= atol, (
        f"{what}: max abs difference {diff[where]:.3g} > {atol:.3g} at index {tuple(int(i) for i in where)} "
        f"(actual {actual[where]!r}, expected {expected[where]!r})"
    )
