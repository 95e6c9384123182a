"""Probes of a style space: does it tell speakers apart, and does it hold no content?

A style embedding of a clip should say who speaks, not what is said (MirrorTalk's point). Given
per-clip features ``x`` (N, D) (style embeddings, or as a control clip-mean content codes):

- :func:`speaker_probe`: accuracy of a linear (one-hot ridge) classifier of the speaker, fit on
  some clips and tested on others of the same speakers; chance :func:`speaker_chance`;
- :func:`content_probe`: R^2 of a ridge regression predicting each held-out clip's content
  histogram (N, K) (e.g. the mean per-frame phone class shares, K = 13) from its features; 0 is
  predicting the training mean (chance), 1 perfect, below 0 worse than the mean;
- :func:`retrieval_accuracy`: top-1 accuracy of cosine nearest-neighbour speaker retrieval
  among clips of speakers no probe was fit on; chance :func:`retrieval_chance`.

The ridge regression (:func:`ridge_fit`, :func:`ridge_predict`) is closed form: inputs are
standardised on the training rows, and the penalty is chosen among :data:`ALPHAS` by the
leave-one-out error on the training rows, so a probe neither overfits small data nor is
handicapped by one fixed penalty. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ptalker.errors import PtalkerError

ALPHAS = tuple(10.0 ** p for p in range(-3, 5))
"""Ridge penalties tried (on standardised inputs); the one with the least leave-one-out error wins."""


@dataclass
class Ridge:
    """A fitted ridge regression: ``y = ((x - mean) / scale) @ weights + bias``."""

    mean: np.ndarray
    """(D,) the training inputs' mean."""
    scale: np.ndarray
    """(D,) the training inputs' standard deviation (1 where it is 0)."""
    weights: np.ndarray
    """(D, K)."""
    bias: np.ndarray
    """(K,) the training targets' mean."""
    alpha: float
    """The penalty chosen."""


def _matrix(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` as a finite (N, D) float64 array, else a PtalkerError."""
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 2 or not np.isfinite(out).all():
        raise PtalkerError(f"{name}: expected a finite (N, D) array, got shape {out.shape}")
    return out


def _same_rows(least: int, **arrays: np.ndarray | Sequence) -> None:
    """A PtalkerError unless every array has the same number of rows, at least ``least``."""
    rows = {name: len(array) for name, array in arrays.items()}
    if len(set(rows.values())) != 1 or min(rows.values()) < least:
        raise PtalkerError(f"expected the same number (at least {least}) of rows in {', '.join(rows)}, got {rows}")


def ridge_fit(x: np.ndarray, y: np.ndarray, alphas: Sequence[float] = ALPHAS) -> Ridge:
    """Ridge regression of ``y`` (N, K) on ``x`` (N, D), inputs standardised on these rows, with
    the penalty among ``alphas`` of least leave-one-out squared error (the closed form through
    the hat matrix's diagonal; the standardisation is not refit per row left out)."""
    x, y = _matrix("x", x), _matrix("y", y)
    _same_rows(2, x=x, y=y)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    bias = y.mean(axis=0)
    u, s, vt = np.linalg.svd((x - mean) / scale, full_matrices=False)  # (N, R), (R,), (R, D)
    uy = u.T @ (y - bias)  # (R, K)
    best = (np.inf, alphas[0])
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)  # (R,)
        fitted = u @ (shrink[:, None] * uy)  # (N, K) centred fits
        leverage = 1.0 / len(x) + (u**2) @ shrink  # (N,) hat diagonal, the bias included
        loo = (((y - bias - fitted) / (1.0 - leverage)[:, None]) ** 2).sum()
        if loo < best[0]:
            best = (loo, alpha)
    alpha = best[1]
    weights = vt.T @ ((s / (s**2 + alpha))[:, None] * uy)  # (D, K)
    return Ridge(mean, scale, weights, bias, alpha)


def ridge_predict(model: Ridge, x: np.ndarray) -> np.ndarray:
    """(N, K) predictions of ``model`` for inputs ``x`` (N, D)."""
    x = _matrix("x", x)
    if x.shape[1] != len(model.mean):
        raise PtalkerError(f"x: expected {len(model.mean)} features per row as fitted, got {x.shape[1]}")
    return ((x - model.mean) / model.scale) @ model.weights + model.bias


def speaker_chance(train_speakers: Sequence) -> float:
    """1 / the number of distinct speakers in ``train_speakers`` (N,)."""
    speakers = set(train_speakers)
    if len(speakers) < 2:
        raise PtalkerError(f"expected at least 2 speakers, got {len(speakers)}")
    return 1.0 / len(speakers)


def speaker_probe(train_x: np.ndarray, train_speakers: Sequence, test_x: np.ndarray,
                  test_speakers: Sequence) -> float:
    """Share of test clips whose speaker a one-hot ridge classifier (the argmax of its K outputs)
    names right: fit on ``train_x`` (N, D) of ``train_speakers`` (N,) labels, tested on ``test_x``
    (M, D) of ``test_speakers`` (M,), which must be among the training speakers (K >= 2)."""
    classes = sorted(set(train_speakers))
    speaker_chance(classes)
    _same_rows(2, train_x=train_x, train_speakers=train_speakers)
    _same_rows(1, test_x=test_x, test_speakers=test_speakers)
    unknown = sorted(set(test_speakers) - set(classes))
    if unknown:
        raise PtalkerError(f"test speakers {unknown} are not among the training speakers {classes}")
    one_hot = np.array([[s == c for c in classes] for s in train_speakers], dtype=np.float64)  # (N, K)
    predicted = ridge_predict(ridge_fit(train_x, one_hot), test_x).argmax(axis=1)  # (M,)
    return float(np.mean([classes[p] == s for p, s in zip(predicted, test_speakers)]))


def content_probe(train_x: np.ndarray, train_hist: np.ndarray, test_x: np.ndarray,
                  test_hist: np.ndarray) -> float:
    """R^2 on held-out clips of ridge-predicting content histograms from features: fit on
    ``train_x`` (N, D) -> ``train_hist`` (N, K), scored on ``test_x`` (M, D) -> ``test_hist``
    (M, K) as 1 - sum of squared errors / sum of squared deviations from the training mean,
    pooled over the K dimensions (0: no better than the training mean, i.e. chance)."""
    _same_rows(2, train_x=train_x, train_hist=train_hist)
    _same_rows(1, test_x=test_x, test_hist=test_hist)
    test_hist = _matrix("test_hist", test_hist)
    model = ridge_fit(train_x, train_hist)
    if test_hist.shape[1] != len(model.bias):
        raise PtalkerError(f"test_hist: expected {len(model.bias)} values per row as train_hist, "
                           f"got {test_hist.shape[1]}")
    error = ((test_hist - ridge_predict(model, test_x)) ** 2).sum()
    spread = ((test_hist - model.bias) ** 2).sum()
    return float(1.0 - error / spread)


def retrieval_chance(speakers: Sequence) -> float:
    """Chance of :func:`retrieval_accuracy`: per clip, the share of the other N - 1 clips that
    are of its speaker, averaged over the N clips of ``speakers`` (N,)."""
    speaker_chance(speakers)
    labels = np.asarray(speakers)
    return float(np.mean([(np.sum(labels == s) - 1) / (len(labels) - 1) for s in labels]))


def retrieval_accuracy(x: np.ndarray, speakers: Sequence) -> float:
    """Share of the N clips (features ``x`` (N, D), labels ``speakers`` (N,), at least 2
    speakers) whose nearest other clip by cosine similarity of the raw features is of the same
    speaker."""
    x = _matrix("x", x)
    _same_rows(2, x=x, speakers=speakers)
    speaker_chance(speakers)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T  # (N, N)
    np.fill_diagonal(similarity, -np.inf)
    labels = np.asarray(speakers)
    return float(np.mean(labels[similarity.argmax(axis=1)] == labels))
