"""Shared fixtures: an isolated cache for the stand-in head, the stand-in itself, and the tiny
synthetic corpus and the tiny model trained on it (each made once per session, on first use).

``pytest_configure`` points $PTALKER_CACHE at a fresh temporary folder and removes
$PTALKER_FLAME_DIR before any test module is even imported, so no test (in any file, even code
run at collection time) reads or writes ~/.cache or picks up a developer's FLAME model from the
environment; ``pytest_unconfigure`` restores both and deletes the folder. The stand-in head is
generated once per session (about 10 s) into that folder; later uses read it from there.

Constants and small functions the tests share (tiny network sizes, config overrides,
``assert_allclose``) are in helpers.py. The session's corpus and trained model are read by many
tests and must not be changed by any: a test that writes writes into its own ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_CORPUS, flow_overrides, train_overrides

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


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests skip where no CUDA device is: also when a ``-m`` on the command line (such as
    the quick loop's ``-m "not slow"``) replaces the default ``-m "not gpu"``."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu:
        import torch

        if not torch.cuda.is_available():
            for item in gpu:
                item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


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
    from ptalker.flame.flame_files import INFO_FILE, MASKS_FILE, read_flame_dir, read_landmarks_68
    from ptalker.safe_pickle import load_pickle

    model, embedding = read_flame_dir(standin_dir)
    masks = load_pickle(standin_dir / MASKS_FILE)
    info = json.loads((standin_dir / INFO_FILE).read_text())
    return {"model": model, "embedding": embedding, "landmarks_68": read_landmarks_68(standin_dir), "masks": masks,
            "info": info}


@pytest.fixture(scope="session")
def standin_topology():
    """The stand-in's topology bookkeeping (slits, bag, eyeballs); vertex ids match the model."""
    from ptalker.flame.standin.mesh import build_topology

    return build_topology()


@pytest.fixture(scope="session")
def standin_sets(standin_dir):
    """FaceSets of the stand-in head (lips, lids, brows, rigid scalp and ears)."""
    from ptalker.flame.masks import head_face_sets

    return head_face_sets(standin_dir)


@pytest.fixture(scope="session")
def standin_template(standin_model):
    """(V, 3) float64 neutral vertices of the stand-in head."""
    return standin_model.template.detach().numpy().astype(np.float64)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, standin_dir):
    """The session's synthetic corpus, helpers.TINY_CORPUS: S01, S02 train (pinned contrasting
    styles), S03 val, S04 test; 12 sequences. Read-only for the tests."""
    from ptalker.data.synth.corpus import generate_corpus, load_synth_config

    root = tmp_path_factory.mktemp("session_corpus") / "tiny"
    report = generate_corpus(root, load_synth_config(None, TINY_CORPUS))
    assert report.sequences == 12 and report.speakers == 4
    return root


@dataclass(frozen=True)
class TrainedRun:
    """The session's tiny training run (fixture ``tiny_trained``)."""

    corpus: Path
    out: Path
    """The run's folder: best.pt, last.pt, train_log.csv, val_log.csv."""
    overrides: list[str]
    """The training-config overrides it ran with (helpers.train_overrides)."""
    result: object
    """What ptalker.training.loop.train returned."""

    @property
    def checkpoint(self) -> Path:
        return self.out / "best.pt"


@pytest.fixture(scope="session")
def tiny_trained(tmp_path_factory, tiny_corpus) -> TrainedRun:
    """A tiny PTalker trained on ``tiny_corpus`` (helpers.train_overrides: 2 epochs, 4 steps). Read-only."""
    from ptalker.training.config import load_train_config
    from ptalker.training.loop import train

    out = tmp_path_factory.mktemp("session_run") / "run"
    overrides = train_overrides(tiny_corpus, out)
    result = train(load_train_config(None, overrides), progress=False)
    return TrainedRun(tiny_corpus, out, overrides, result)


@pytest.fixture(scope="session")
def tiny_flow(tmp_path_factory, tiny_trained) -> TrainedRun:
    """A tiny flow talker on ``tiny_trained``'s PTalker (helpers.flow_overrides: 3 epochs, 12 steps). Read-only."""
    from ptalker.training.config import load_train_config
    from ptalker.training.loop import train

    out = tmp_path_factory.mktemp("session_flow") / "run"
    overrides = flow_overrides(tiny_trained.corpus, out, tiny_trained.checkpoint)
    result = train(load_train_config(None, overrides), progress=False)
    return TrainedRun(tiny_trained.corpus, out, overrides, result)


@pytest.fixture(scope="session")
def tiny_animator(tiny_trained):
    """The Animator of ``tiny_trained``'s best.pt."""
    from ptalker.pipelines.animator import load_model

    return load_model(tiny_trained.checkpoint)
