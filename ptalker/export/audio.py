"""The speech written beside an export, as a WAV file with the export's stem.

Audio is not part of glTF, point caches or mesh sequences; engines and DCC tools take it as a
separate clip. :func:`wav_bytes` checks the audio and encodes it before anything is written, so
bad audio fails an export up front instead of after the mesh file has been replaced.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

import numpy as np
import soundfile

from ptalker.audio.io import check_waveform, load_audio
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

AudioInput = Union[str, os.PathLike, np.ndarray]
"""A path to a sound file, or (S,) float32 samples at 16 kHz."""

WAV_SUBTYPE = "PCM_16"
"""16-bit PCM: the WAV flavour every engine and DCC tool imports."""


def wav_bytes(audio: AudioInput) -> bytes:
    """Return ``audio`` as the bytes of a WAV file.

    A .wav path is copied as is (its rate and channels kept); another sound file is decoded to
    mono 16 kHz; an (S,) array is taken as float32 samples at 16 kHz and written as 16-bit PCM.

    Raises:
        PtalkerError: a missing or unreadable file; empty, silent or non-finite samples.
    """
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        if not path.is_file():
            raise PtalkerError(f"audio: {path} not found; pass the speech file (or its samples at 16 kHz)")
        if path.suffix.lower() == ".wav":
            _check_readable(path)
            return path.read_bytes()
        samples = load_audio(path)
    else:
        samples = check_waveform(audio, "audio")
    buffer = io.BytesIO()
    clipped = np.clip(samples, -1.0, 1.0)  # PCM cannot hold values outside [-1, 1]
    soundfile.write(buffer, clipped, AUDIO_SAMPLE_RATE_HZ, format="WAV", subtype=WAV_SUBTYPE)
    return buffer.getvalue()


def _check_readable(path: Path) -> None:
    try:
        soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise PtalkerError(f"audio: {path} is not a readable WAV file ({err}); re-export it") from None
