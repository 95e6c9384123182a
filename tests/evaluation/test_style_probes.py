"""Style-space probes on synthetic embeddings with known speaker and content structure."""

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.evaluation.style_probes import (
    content_probe,
    retrieval_accuracy,
    retrieval_chance,
    ridge_fit,
    ridge_predict,
    speaker_chance,
    speaker_probe,
)

SPEAKERS, CLIPS, DIMS, BINS = 6, 20, 16, 13


def _speaker_embeddings(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(SPEAKERS * CLIPS, DIMS) embeddings: a per-speaker mean plus noise a third its spread;
    and the (SPEAKERS * CLIPS,) speaker labels."""
    means = rng.normal(size=(SPEAKERS, DIMS))
    labels = np.repeat([f"S{s:02d}" for s in range(SPEAKERS)], CLIPS)
    x = np.repeat(means, CLIPS, axis=0) + rng.normal(scale=0.3, size=(SPEAKERS * CLIPS, DIMS))
    return x, labels


def _histograms(rng: np.random.Generator, rows: int) -> np.ndarray:
    """(rows, BINS) histograms summing to 1."""
    return rng.dirichlet(np.full(BINS, 5.0), size=rows)


def test_ridge_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=3.0, scale=[1.0, 10.0, 0.1], size=(200, 3))
    y = x @ np.array([[1.0, -2.0], [0.5, 0.0], [20.0, 1.0]]) + 4.0
    assert np.allclose(ridge_predict(ridge_fit(x, y), x[:5]), y[:5], atol=0.05)


def test_speakers_are_found_by_the_probe_and_retrieval():
    x, labels = _speaker_embeddings(np.random.default_rng(1))
    fit = np.tile(np.arange(CLIPS) < CLIPS // 2, SPEAKERS)
    assert speaker_probe(x[fit], labels[fit], x[~fit], labels[~fit]) > 0.95
    assert retrieval_accuracy(x, labels) > 0.95


def test_noise_is_at_chance():
    rng = np.random.default_rng(2)
    x, labels = rng.normal(size=(SPEAKERS * CLIPS, DIMS)), np.repeat(np.arange(SPEAKERS), CLIPS)
    fit = np.tile(np.arange(CLIPS) < CLIPS // 2, SPEAKERS)
    assert speaker_probe(x[fit], labels[fit], x[~fit], labels[~fit]) < 0.35
    assert retrieval_accuracy(x, labels) < 0.35


def test_content_probe_sees_content_only_where_it_is():
    rng = np.random.default_rng(3)
    x, _ = _speaker_embeddings(rng)
    hist = _histograms(rng, len(x))
    half = len(x) // 2
    assert abs(content_probe(x[:half], hist[:half], x[half:], hist[half:])) < 0.1  # independent
    carrying = np.concatenate([hist @ rng.normal(size=(BINS, DIMS)), x], axis=1)
    carrying += rng.normal(scale=0.003, size=carrying.shape)
    assert content_probe(carrying[:half], hist[:half], carrying[half:], hist[half:]) > 0.9


def test_chance_levels():
    assert speaker_chance(["a", "b", "c", "a"]) == pytest.approx(1 / 3)
    # each a: 2 of the 4 other clips are a; each c: 1 of 4
    labels = ["a", "a", "a", "c", "c"]
    assert retrieval_chance(labels) == pytest.approx((3 * 2 / 4 + 2 * 1 / 4) / 5)
    assert retrieval_chance(np.repeat(np.arange(4), 20)) == pytest.approx(19 / 79)


def test_bad_input_is_reported():
    x, labels = _speaker_embeddings(np.random.default_rng(4))
    hist = _histograms(np.random.default_rng(5), len(x))
    with pytest.raises(PtalkerError, match="same number"):
        speaker_probe(x, labels[:-1], x, labels)
    with pytest.raises(PtalkerError, match="at least 2 speakers"):
        speaker_probe(x, ["S01"] * len(x), x, labels)
    with pytest.raises(PtalkerError, match="not among the training speakers"):
        speaker_probe(x[labels != "S00"], labels[labels != "S00"], x, labels)
    with pytest.raises(PtalkerError, match="same number"):
        content_probe(x, hist[:-1], x, hist)
    with pytest.raises(PtalkerError, match="features per row"):
        content_probe(x, hist, x[:, :3], hist)
    with pytest.raises(PtalkerError, match="at least 2 speakers"):
        retrieval_accuracy(x, ["S01"] * len(x))
    with pytest.raises(PtalkerError, match=r"\(N, D\)"):
        retrieval_accuracy(x[0], labels[:1])
