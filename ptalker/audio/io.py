"""Loading speech as mono float32 at 16 kHz (docs/architecture.md, "Data contracts")."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import soundfile

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

SILENCE_PEAK = 1e-6
"""A waveform whose peak amplitude is at or below this counts as silent."""
MIN_SPEECH_S = 0.1
"""The shortest speech ptalker animates: three frames at 30 fps; the speech encoder's first
convolutions need 25 ms, the phone recognizer some more."""


def check_waveform(audio: np.ndarray, source: str) -> np.ndarray:
    """Return ``audio`` as float32 (S,) after checking it is usable speech.

    Raises:
        PtalkerError: empty, non-finite or silent audio.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise PtalkerError(f"{source}: expected mono audio of shape (S,), got {audio.shape}")
    if audio.size == 0:
        raise PtalkerError(f"{source}: the audio is empty; give a recording with speech in it")
    if not np.all(np.isfinite(audio)):
        raise PtalkerError(f"{source}: the audio holds NaN or infinite samples; re-export it")
    if float(np.max(np.abs(audio))) <= SILENCE_PEAK:
        raise PtalkerError(f"{source}: the audio is silent; give a recording with speech in it")
    return audio


def check_speech_length(audio: np.ndarray, source: str, rate_hz: int = AUDIO_SAMPLE_RATE_HZ) -> np.ndarray:
    """Return the (S,) ``audio`` after checking it lasts at least :data:`MIN_SPEECH_S`.

    Raises:
        PtalkerError: shorter audio.
    """
    seconds = len(audio) / rate_hz
    if seconds < MIN_SPEECH_S:
        raise PtalkerError(f"{source}: the audio lasts {1000 * seconds:.0f} ms; ptalker animates speech of at least "
                           f"{1000 * MIN_SPEECH_S:.0f} ms, give a longer recording")
    return audio


def resample(audio: np.ndarray, rate_hz: int, target_rate_hz: int = AUDIO_SAMPLE_RATE_HZ) -> np.ndarray:
    """Resample (S,) audio from ``rate_hz`` to ``target_rate_hz`` with a polyphase filter."""
    if rate_hz == target_rate_hz:
        return np.asarray(audio, dtype=np.float32)
    divisor = math.gcd(int(rate_hz), int(target_rate_hz))
    import scipy.signal  # imported here: about 0.35 s that 16 kHz input never needs

    out = scipy.signal.resample_poly(audio, target_rate_hz // divisor, rate_hz // divisor)
    return out.astype(np.float32)


def load_audio(path: str | os.PathLike, target_rate_hz: int = AUDIO_SAMPLE_RATE_HZ) -> np.ndarray:
    """Read an audio file as mono float32 at ``target_rate_hz``.

    Stereo is averaged to mono. Returns an array of shape (S,).

    Raises:
        PtalkerError: the file is missing, unreadable, empty, silent or non-finite.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: audio file not found; check the path")
    try:
        data, rate_hz = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise PtalkerError(
            f"{path}: not a readable audio file ({err}); give a WAV/FLAC/OGG file"
        ) from None
    mono = data.mean(axis=1)  # (S, C) -> (S,)
    return check_waveform(resample(mono, rate_hz, target_rate_hz), str(path))
