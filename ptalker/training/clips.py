"""Training clips: a random window of a sequence, its head motion removed, its audio augmented."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ptalker.audio.augment import augment
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data.dataset import SequenceItem
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.training.config import TrainConfig


def crop(item: SequenceItem, max_frames: int, fps: float, rng: np.random.Generator) -> SequenceItem:
    """A random window of at most ``max_frames`` frames of ``item``, its audio cut alike."""
    frames = item.vertices.shape[0]
    if frames <= max_frames:
        return item
    start = int(rng.integers(0, frames - max_frames + 1))
    samples_per_frame = AUDIO_SAMPLE_RATE_HZ / fps
    audio = item.audio[int(round(start * samples_per_frame)):int(round((start + max_frames) * samples_per_frame))]
    phones = None if item.phones is None else item.phones[..., start:start + max_frames, :]
    return dataclasses.replace(item, audio=audio, vertices=item.vertices[start:start + max_frames], phones=phones)


def stabilized(item: SequenceItem, rigid: np.ndarray | None) -> SequenceItem:
    """``item`` with its head's rigid motion removed (``rigid``: ids of vertices that move only with
    the head), or ``item`` itself when ``rigid`` is None."""
    if rigid is None:
        return item
    aligned = remove_head_motion(item.vertices.numpy(), item.template.numpy(), rigid).aligned
    return dataclasses.replace(item, vertices=torch.from_numpy(aligned.astype(np.float32)))


def pick_phones(phones: torch.Tensor, dropout: float, recognized: float, rng: np.random.Generator) -> torch.Tensor:
    """(T, P) from an item's (2, T, P) phone features (recognized, true): zeros with probability
    ``dropout`` (the audio-only path), else the recognized variant with probability
    ``recognized``, else the true one."""
    if rng.random() < dropout:
        return torch.zeros_like(phones[0])
    return phones[0] if rng.random() < recognized else phones[1]


def prepare_clip(item: SequenceItem, config: TrainConfig, fps: float, rng: np.random.Generator,
             rigid: np.ndarray | None) -> SequenceItem:
    """A training clip: cropped, stabilized (``rigid``: see :func:`stabilized`), its audio augmented
    with probability ``config.augment_p``, one of its phone variants kept (:func:`pick_phones`)."""
    item = stabilized(crop(item, config.max_frames, fps, rng), rigid)
    if item.phones is not None:
        model = config.model
        item = dataclasses.replace(item, phones=pick_phones(item.phones, model.phone_dropout, model.recognized_phones, rng))
    if rng.random() < config.augment_p:
        item = dataclasses.replace(item, audio=torch.from_numpy(augment(item.audio.numpy(), rng, config.augment)))
    return item
