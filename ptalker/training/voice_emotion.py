"""Training the voice-emotion classifier (:mod:`ptalker.controls.voice_emotion`) on a whole-face corpus.

Every sequence of a corpus made with a ``whole_face`` section carries its emotion label in
``align/<stem>.json``. The prosody features of each clip's WAV are standardized with the
training split's means and standard deviations; a multinomial logistic regression (softmax,
L-BFGS on the mean cross-entropy + l2 * |W|^2) is fitted on the training split for each l2 of
:data:`L2_GRID`, and the one with the best validation accuracy (then the lowest validation loss)
is kept. The model is written as JSON with its accuracy on every split and the test confusion
matrix (rows: true label, columns: predicted; the labels' order).

>>> report = train_voice_emotion("data/synth_wholeface", "ptalker/assets/voice_emotion.json")
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from ptalker.audio.io import load_audio
from ptalker.controls.voice_emotion import FEATURES, EmotionModel, prosody_features
from ptalker.data.layout import list_sequences, wav_path
from ptalker.data.synth.corpus import CORPUS_FILE, load_alignment, load_speakers
from ptalker.errors import PtalkerError
from ptalker.fileio import save_json
from ptalker.flame.expressions import EMOTIONS

L2_GRID = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
SPLITS = ("train", "val", "test")
MAX_ITERATIONS = 500


@dataclass
class SplitData:
    """The clips of one split."""

    features: np.ndarray
    """(N, D) prosody features."""
    labels: np.ndarray
    """(N,) label indices into EMOTIONS."""


@dataclass
class VoiceEmotionReport:
    """What :func:`train_voice_emotion` fitted and measured."""

    model: EmotionModel
    accuracy: dict[str, float]
    """{split: fraction of its clips labelled right}."""
    clips: dict[str, int]
    """{split: number of clips}."""
    confusion: np.ndarray
    """(C, C) test clips by true label (rows) and predicted label (columns)."""
    l2: float
    seconds: float


def read_split(root: Path, split: str) -> SplitData:
    """Features and labels of ``split``'s sequences in the corpus at ``root``."""
    speakers = load_speakers(root)
    rows, labels = [], []
    for name in list_sequences(root):
        if name.subject not in speakers or speakers[name.subject].split != split:
            continue
        emotion = load_alignment(root, name.stem).emotion
        if emotion is None:
            raise PtalkerError(f"{root}: sequence {name.stem} has no emotion label; make the corpus with a "
                               "whole_face section (configs/data/synth_wholeface.yaml)")
        rows.append(prosody_features(load_audio(wav_path(root, name))))
        labels.append(EMOTIONS.index(emotion.label))
    if not rows:
        raise PtalkerError(f"{root}: no sequences of the {split} split; the corpus needs train, val and test speakers")
    return SplitData(np.stack(rows), np.asarray(labels))


def _loss_and_gradient(theta: np.ndarray, z: np.ndarray, onehot: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """Mean cross-entropy + l2 * |W|^2 and its gradient; theta packs W (C, D) then b (C,)."""
    classes, dims = onehot.shape[1], z.shape[1]
    weights, bias = theta[:classes * dims].reshape(classes, dims), theta[classes * dims:]
    logits = z @ weights.T + bias  # (N, C)
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -(onehot * log_p).sum(axis=1).mean() + l2 * np.sum(weights ** 2)
    error = (np.exp(log_p) - onehot) / len(z)  # (N, C)
    return loss, np.concatenate([(error.T @ z + 2.0 * l2 * weights).ravel(), error.sum(axis=0)])


def fit_softmax(z: np.ndarray, labels: np.ndarray, classes: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (C, D) and bias (C,) of a softmax regression on standardized features z (N, D)."""
    onehot = np.eye(classes)[labels]  # (N, C)
    start = np.zeros(classes * z.shape[1] + classes)
    result = minimize(_loss_and_gradient, start, args=(z, onehot, l2), jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITERATIONS})
    theta = result.x
    return theta[:classes * z.shape[1]].reshape(classes, z.shape[1]), theta[classes * z.shape[1]:]


def _score(model: EmotionModel, data: SplitData) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``model`` on ``data``."""
    probabilities = model.probabilities(data.features)  # (N, C)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == data.labels))
    loss = float(-np.mean(np.log(probabilities[np.arange(len(data.labels)), data.labels] + 1e-12)))
    return accuracy, loss


def train_voice_emotion(corpus_root: str | os.PathLike, out_json: str | os.PathLike) -> VoiceEmotionReport:
    """Fit the classifier on ``corpus_root``'s train split, choose l2 on val, write ``out_json``.

    Raises:
        PtalkerError: not a whole-face corpus, a split without clips.
    """
    start = time.perf_counter()
    root = Path(corpus_root)
    data = {split: read_split(root, split) for split in SPLITS}
    train = data["train"]
    means, stds = train.features.mean(axis=0), np.maximum(train.features.std(axis=0), 1e-9)
    z = (train.features - means) / stds
    best = None
    for l2 in L2_GRID:
        weights, bias = fit_softmax(z, train.labels, len(EMOTIONS), l2)
        model = EmotionModel(list(EMOTIONS), list(FEATURES), means, stds, weights, bias, {})
        accuracy, loss = _score(model, data["val"])
        if best is None or (accuracy, -loss) > (best[0], -best[1]):
            best = (accuracy, loss, l2, model)
    _, _, l2, model = best
    accuracy = {split: _score(model, data[split])[0] for split in SPLITS}
    predicted = model.probabilities(data["test"].features).argmax(axis=1)
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=int)
    np.add.at(confusion, (data["test"].labels, predicted), 1)
    corpus_name = root.name
    if (root / CORPUS_FILE).is_file():
        corpus_name = json.loads((root / CORPUS_FILE).read_text())["config"]["name"]
    model.info = {"corpus": corpus_name, "l2": l2, "accuracy": {k: round(v, 4) for k, v in accuracy.items()},
                  "clips": {split: len(d.labels) for split, d in data.items()},
                  "test_confusion": confusion.tolist()}
    save_json(out_json, model.to_json())
    return VoiceEmotionReport(model, accuracy, {split: len(d.labels) for split, d in data.items()}, confusion, l2,
                              time.perf_counter() - start)
