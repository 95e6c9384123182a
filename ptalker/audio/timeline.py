"""Speech with its phoneme timeline: which phoneme and word is said when, on the waveform's clock.

The synthetic corpus (:mod:`ptalker.data.synth.espeak`) makes these from espeak-ng's phoneme
events and stores them as ``ROOT/align/<stem>.json`` (:meth:`Speech.to_json`); plots, the corpus
checks and the demo read them back (:func:`read_timeline`). Phoneme symbols are espeak-ng
mnemonics; pauses start with "_".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

JSON_TIME_DECIMALS = 5
"""Times in to_json() are rounded to 1e-5 s."""


PAUSE_PREFIX = "_"
"""espeak pause mnemonics start with this ("_", "_:", "_!")."""


@dataclass
class Phoneme:
    """One phoneme: espeak mnemonic without stress marks, stress 0/1/2, times in seconds.

    ``word`` indexes Speech.words; pauses (symbols starting with "_") have word -1. end_s is the
    next phoneme's start_s and may equal start_s: espeak folds a syllable-final /l/ into the
    vowel before it ("mailman", "sells") and reports it with zero length.
    """

    symbol: str
    stress: int
    start_s: float
    end_s: float
    word: int

    @property
    def is_pause(self) -> bool:
        """True for espeak pauses ("_", "_:", ...)."""
        return self.symbol.startswith(PAUSE_PREFIX)


@dataclass
class Word:
    """A word of the input text; start of its first phoneme to end of its last, in seconds."""

    text: str
    start_s: float
    end_s: float


@dataclass
class Speech:
    """Synthesised speech: waveform (S,) float32 in [-1, 1] at ``sample_rate`` Hz and its timeline.

    Phonemes are ordered, contiguous and cover [0, duration_s]; times are on the waveform's clock.
    """

    waveform: np.ndarray
    phonemes: list[Phoneme]
    words: list[Word]
    sample_rate: int = AUDIO_SAMPLE_RATE_HZ

    @property
    def duration_s(self) -> float:
        """Length of the waveform in seconds (of the timeline when there is no waveform)."""
        if self.waveform.size == 0 and self.phonemes:
            return self.phonemes[-1].end_s
        return self.waveform.size / self.sample_rate

    def to_json(self) -> dict:
        """The timeline (not the audio) as JSON-ready dict, times rounded to 1e-5 s."""

        def seconds(value: float) -> float:
            return round(float(value), JSON_TIME_DECIMALS)

        return {"phonemes": [{"symbol": p.symbol, "stress": p.stress, "start_s": seconds(p.start_s),
                              "end_s": seconds(p.end_s), "word": p.word} for p in self.phonemes],
                "words": [{"text": w.text, "start_s": seconds(w.start_s), "end_s": seconds(w.end_s)}
                          for w in self.words]}

    @classmethod
    def from_json(cls, data: dict, waveform: np.ndarray | None = None) -> Speech:
        """Inverse of to_json(); ``waveform`` (S,) is optional since to_json() does not store it."""
        try:
            phonemes = [Phoneme(str(p["symbol"]), int(p["stress"]), float(p["start_s"]), float(p["end_s"]),
                                int(p["word"])) for p in data["phonemes"]]
            words = [Word(str(w["text"]), float(w["start_s"]), float(w["end_s"])) for w in data["words"]]
        except (KeyError, TypeError, ValueError) as err:
            raise PtalkerError(f"speech timeline JSON: missing or malformed field ({err!r}); "
                               "expected the dict written by Speech.to_json()") from None
        audio = np.zeros(0, np.float32) if waveform is None else np.asarray(waveform, dtype=np.float32)
        return cls(waveform=audio, phonemes=phonemes, words=words)


def read_timeline(path: str | os.PathLike) -> Speech:
    """The timeline (no waveform) in a JSON file: a corpus alignment (``ROOT/align/<stem>.json``)
    or what :meth:`Speech.to_json` writes."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PtalkerError(f"{path}: not a readable JSON timeline ({err}); give a corpus align/<stem>.json") from None
    return Speech.from_json(data)
