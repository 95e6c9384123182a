"""Per-frame features of speech for the blink model (:mod:`ptalker.models.blink_net`).

:func:`frame_features` gives (T, F) at the animation's frame rate, F = FEATURE_DIM:

- 40 log10 mel energies (25 ms Hann windows every 10 ms, 60-7600 Hz, Slaney mel, through
  transformers.audio_utils), minus the clip's loudest frame's mean so the gain drops out;
- loudness in dB relative to the clip's loudest frame, floored at -80 dB, divided by 40;
- f0 in semitones relative to the clip's median voiced f0, divided by 12 (0 when unvoiced);
- voiced (1) or not (0).

The 10 ms frames are linearly interpolated to the T frame times.
"""

from __future__ import annotations

import numpy as np
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.controls.voice_emotion import FRAME_PERIOD_MS, HOP, WINDOW, f0_hz, frame_energy_db

MELS = 40
FEATURE_DIM = MELS + 3
FFT = 512
_FILTERS = mel_filter_bank(num_frequency_bins=FFT // 2 + 1, num_mel_filters=MELS, min_frequency=60.0,
                           max_frequency=7600.0, sampling_rate=AUDIO_SAMPLE_RATE_HZ, norm="slaney", mel_scale="slaney")


def frame_features(audio: np.ndarray, fps: float, num_frames: int) -> np.ndarray:
    """(num_frames, FEATURE_DIM) float32 features of ``audio`` (S,) float at 16 kHz (see module doc)."""
    audio = np.asarray(audio, np.float64)
    if audio.size < WINDOW:
        audio = np.pad(audio, (0, WINDOW - audio.size))
    mel = spectrogram(audio, window_function(WINDOW, "hann"), frame_length=WINDOW, hop_length=HOP, fft_length=FFT,
                      power=2.0, mel_filters=_FILTERS, log_mel="log10", mel_floor=1e-10).T  # (F, MELS)
    _, energy_db = frame_energy_db(audio)  # (F',)
    f0 = f0_hz(audio)  # (F',)
    count = min(len(mel), len(energy_db), len(f0))
    mel, energy_db, f0 = mel[:count], energy_db[:count], f0[:count]
    loudest = int(np.argmax(energy_db))
    voiced = f0 > 0
    median = np.median(f0[voiced]) if voiced.any() else 100.0
    pitch = np.where(voiced, 12.0 * np.log2(np.where(voiced, f0, 1.0) / median), 0.0)
    loudness = np.maximum(energy_db - energy_db[loudest], -80.0) / 40.0
    features = np.concatenate([mel - mel[loudest].mean(), loudness[:, None],
                               (pitch / 12.0)[:, None], voiced[:, None].astype(np.float64)], 1)  # (F, FEATURE_DIM)
    source = np.arange(count) * FRAME_PERIOD_MS / 1000.0
    target = np.arange(num_frames) / fps
    return np.stack([np.interp(target, source, column) for column in features.T], 1).astype(np.float32)
