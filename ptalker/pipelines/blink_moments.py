"""Where in the speech blinks fall: the shipped :class:`ptalker.models.blink_net.BlinkNet`
(``ptalker/assets/blink_net.pt``, trained by :mod:`ptalker.training.blinks` on the whole-face
corpus), speech in, the per-frame probability of shut lids out, for the blink control
(:func:`ptalker.controls.compose.apply_controls`)."""

from __future__ import annotations

import os
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ptalker.controls.speech_features import frame_features
from ptalker.errors import PtalkerError
from ptalker.models.blink_net import BlinkNet

BLINK_MODEL = Path(__file__).resolve().parents[1] / "assets" / "blink_net.pt"


@lru_cache(maxsize=2)
def load_blink_net(path: str | os.PathLike = BLINK_MODEL) -> BlinkNet:
    """The network at ``path``, in eval mode."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        net = BlinkNet(**data["config"])
        net.load_state_dict(data["state"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, AttributeError, pickle.UnpicklingError) as err:
        raise PtalkerError(f"{path}: not a blink model ({type(err).__name__}); retrain it with "
                           "python benchmarks/blinks.py --retrain") from None
    return net.eval()


@torch.no_grad()
def blink_probability(audio: np.ndarray, fps: float, num_frames: int, path: str | os.PathLike = BLINK_MODEL) -> np.ndarray:
    """(num_frames,) probability of shut lids per frame for speech ``audio`` (S,) float at 16 kHz."""
    logits = load_blink_net(path)(torch.from_numpy(frame_features(audio, fps, num_frames))[None])[0]
    return torch.sigmoid(logits).numpy().astype(np.float64)
