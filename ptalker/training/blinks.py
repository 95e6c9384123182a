"""Training :class:`ptalker.models.blink_net.BlinkNet` on a whole-face corpus.

Each sequence of a corpus made with a ``whole_face`` section gives the speech features
(:func:`ptalker.controls.speech_features.frame_features`) and the lids shut or not per frame
(the ``blink_left`` coefficient of its FLAME parameters > 0.5). Binary cross-entropy with the
shut frames weighted by their rarity; Adam, batches of BATCH clips, EPOCHS epochs; the epoch
with the lowest validation loss is kept and written as a plain tensor dict
(``torch.load(..., weights_only=True)`` reads it).

>>> report = train_blinks("data/synth_wholeface", "ptalker/assets/blink_net.pt")
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.audio.io import load_audio
from ptalker.controls.speech_features import FEATURE_DIM, frame_features
from ptalker.data.layout import list_sequences, wav_path
from ptalker.data.synth.corpus import load_speakers
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.flame.flame_model import FlameModel
from ptalker.models.blink_net import BlinkNet

BATCH = 16
EPOCHS = 30
LEARNING_RATE = 2e-3
SEED = 0
BLINK_CLOSED = 0.5
"""A frame's lids count as shut when its blink coefficient exceeds this."""


@dataclass
class Clip:
    features: torch.Tensor
    """(T, F)"""
    shut: torch.Tensor
    """(T,) 1 where the lids are shut"""


def read_clips(root: Path, split: str, fps: float) -> list[Clip]:
    """The clips of ``split`` in the whole-face corpus at ``root`` (features at ``fps``)."""
    speakers = load_speakers(root)
    column = FlameModel.load().expression_names.index("blink_left")
    clips = []
    for name in list_sequences(root):
        if speakers[name.subject].split != split:
            continue
        params = np.load(root / "params_npy" / f"{name.stem}.npz")
        if "emotion" not in params:
            raise PtalkerError(f"{root}: {name.stem} was made without whole-face motion; train on a corpus made "
                               "with configs/data/synth_wholeface.yaml")
        expression = params["expression"]
        clips.append(Clip(torch.from_numpy(frame_features(load_audio(wav_path(root, name)), fps, len(expression))),
                          torch.from_numpy((expression[:, column] > BLINK_CLOSED).astype(np.float32))))
    if not clips:
        raise PtalkerError(f"{root}: no sequences of the {split} split")
    return clips


def _batch(clips: list[Clip]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """features (B, T, F), shut (B, T), mask (B, T) of ``clips`` padded to the longest."""
    length = max(len(c.features) for c in clips)
    features = torch.stack([torch.nn.functional.pad(c.features, (0, 0, 0, length - len(c.features))) for c in clips])
    shut = torch.stack([torch.nn.functional.pad(c.shut, (0, length - len(c.shut))) for c in clips])
    mask = torch.stack([torch.arange(length) < len(c.features) for c in clips])
    return features, shut, mask


def loss(net: BlinkNet, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], shut_weight: float) -> torch.Tensor:
    features, shut, mask = batch
    return torch.nn.functional.binary_cross_entropy_with_logits(net(features)[mask], shut[mask],
                                                                pos_weight=torch.tensor(shut_weight))


@dataclass
class BlinkTrainingReport:
    val_loss: float
    best_epoch: int
    clips: dict[str, int]
    seconds: float
    out: Path

    def __str__(self) -> str:
        return (f"trained the blink model on {self.clips['train']} clips in {self.seconds:.0f} s; best epoch "
                f"{self.best_epoch}, validation loss {self.val_loss:.3f}; wrote {self.out}")


def train_blinks(corpus_root: str | os.PathLike, out: str | os.PathLike, fps: float = 30.0,
                 epochs: int = EPOCHS) -> BlinkTrainingReport:
    """Train on ``corpus_root``'s train split, keep the best validation epoch, write ``out``."""
    start = time.perf_counter()
    torch.manual_seed(SEED)
    root = Path(corpus_root)
    data = {split: read_clips(root, split, fps) for split in ("train", "val")}
    shut = torch.cat([c.shut for c in data["train"]]).mean().item()
    shut_weight = (1 - shut) / max(shut, 1e-3)
    net = BlinkNet(FEATURE_DIM)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    val_batch = _batch(data["val"])
    best, best_epoch, state = float("inf"), -1, None
    rng = np.random.default_rng(SEED)
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(data["train"]))
        for first in range(0, len(order), BATCH):
            value = loss(net, _batch([data["train"][i] for i in order[first:first + BATCH]]), shut_weight)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            value = float(loss(net, val_batch, shut_weight))
        if value < best:
            best, best_epoch = value, epoch
            state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    with atomic_open(out, "wb") as handle:
        torch.save({"state": state, "config": net.config, "fps": fps, "corpus": root.name,
                    "best_epoch": best_epoch, "val_loss": best}, handle)
    return BlinkTrainingReport(best, best_epoch, {k: len(v) for k, v in data.items()}, time.perf_counter() - start,
                               Path(out))
