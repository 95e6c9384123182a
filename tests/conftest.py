"""Shared fixtures: an isolated cache for the stand-in head, and the stand-in itself.

``pytest_configure`` points $PTALKER_CACHE at a fresh temporary folder and removes
$PTALKER_FLAME_DIR before any test module is even imported, so no test (in any file, even code
run at collection time) reads or writes ~/.cache or picks up a developer's FLAME model from the
environment; ``pytest_unconfigure`` restores both and deletes the folder. The stand-in head is
generated once per session (about 10 s) into that folder; later uses read it from there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

CACHE_ENV = "PTALKER_CACHE"
FLAME_DIR_ENV = "PTALKER_FLAME_DIR"
_saved_env: dict[str, str | None] = {}
_cache_dir: list[Path] = []


def pytest_configure(config):
    _saved_env.update({name: os.environ.get(name) for name in (CACHE_ENV, FLAME_DIR_ENV)})
    cache = Path(tempfile.mkdtemp(prefix="ptalker_test_cache_"))
    _cache_dir.append(cache)
    os.environ[CACHE_ENV] = str(cache)
    os.environ.pop(FLAME_DIR_ENV, None)


def pytest_unconfigure(config):
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    while _cache_dir:
        shutil.rmtree(_cache_dir.pop(), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache():
    """The session's $PTALKER_CACHE folder; fails loudly if something changed the variables."""
    cache = _cache_dir[-1]
    assert os.environ.get(CACHE_ENV) == str(cache), f"{CACHE_ENV} changed to {os.environ.get(CACHE_ENV)}"
    assert FLAME_DIR_ENV not in os.environ, f"{FLAME_DIR_ENV} is set during the tests"
    return cache


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
    from ptalker.flame.flame_files import INFO_FILE, MASKS_FILE, read_flame_dir
    from ptalker.safe_pickle import load_pickle

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


TINY_MODEL = ["model.audio={hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64, conv_dim: 16}",
              "model.content_dim=32", "model.style_dim=16", "model.graph_nodes=24", "model.graph_dim=16",
              "model.graph_layers=1", "model.decoder_layers=1", "model.decoder_ff=64", "model.basis=8"]
"""Training-config overrides for a PTalker small enough for tests."""
