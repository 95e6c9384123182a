"""Phone timelines of a data set's audio, for the phonetic channel of PTalker.

``ptalker data phones --data ROOT`` runs pocketsphinx (:mod:`ptalker.audio.phones`) on every
``ROOT/wav/<stem>.wav`` for its recognized phones, and adds the sequence's true phones: the
data set's own timeline when ``ROOT/align/<stem>.json`` has one (the synthetic corpus's espeak
timelines, each phone renamed to a pocketsphinx phone of its sound class by
:func:`canonical_timeline`), else the forced alignment of its ``text`` when it has one. Training
feeds the model one of the two at random, so it learns to live with the recognizer's errors
as well as with the true phones. Written to ``ROOT/phones/<stem>.json``::

    {"recognized": <timeline>, "aligned": <timeline> or null}

(timelines as :meth:`ptalker.audio.timeline.Speech.to_json`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from ptalker.audio.io import load_audio
from ptalker.audio.phones import SOUND_CLASS, align_transcript, recognize_phones
from ptalker.audio.timeline import Phoneme, Speech
from ptalker.data.synth.visemes import CONSONANT_CLASS, VOWELS
from ptalker.errors import PtalkerError
from ptalker.fileio import save_json

PHONES_DIR = "phones"
CLASS_OF_PLACE = {"sibilant": "alveolar", "lateral": "alveolar", "rhotic": "r", "palatal": "front",
                  "labiovelar": "rounded"}
"""The corpus's consonant places (visemes.CONSONANT_CLASS) that SOUND_CLASS names otherwise."""
REPRESENTATIVE = {name: symbol for symbol, name in reversed(SOUND_CLASS.items())}
"""sound class -> one espeak symbol of it (the first in SOUND_CLASS)."""


def sound_class(symbol: str) -> str:
    """The SOUND_CLASS class of any espeak symbol: its own entry, else the corpus's consonant
    place or vowel shape (open jaw: open; rounded lips: rounded; close or spread: front; else
    mid), a numbered variant ('O2') as its base; 'pause' for pauses and unknown symbols."""
    base = symbol.rstrip("0123456789") or symbol
    for name in (symbol, base):
        if name in SOUND_CLASS:
            return SOUND_CLASS[name]
        if name in CONSONANT_CLASS:
            place = CONSONANT_CLASS[name]
            return CLASS_OF_PLACE.get(place, place)
        if name in VOWELS:
            start = VOWELS[name][0]
            if start.value("jaw") >= 1.0:
                return "open"
            if start.value("round") >= 0.5:
                return "rounded"
            return "front" if start.value("jaw") < 0.5 or start.value("spread") >= 0.4 else "mid"
    return "pause"


def canonical_timeline(speech: Speech) -> Speech:
    """``speech`` with each phone renamed to its class's representative symbol, so that
    :func:`ptalker.audio.phones.phone_features` reads any espeak timeline."""
    phonemes = [Phoneme("_" if (name := sound_class(p.symbol)) == "pause" else REPRESENTATIVE[name], p.stress,
                        p.start_s, p.end_s, p.word) for p in speech.phonemes]
    return Speech(speech.waveform, phonemes, speech.words, speech.sample_rate)


def phones_path(root: str | os.PathLike, stem: str) -> Path:
    return Path(root) / PHONES_DIR / f"{stem}.json"


def prepare_phones(root: str | os.PathLike, overwrite: bool = False, progress: bool = False) -> int:
    """Write ROOT/phones/<stem>.json for every ROOT/wav/<stem>.wav (those already there are kept
    unless ``overwrite``); returns how many were written. Each file is written atomically, so
    an interrupted run resumes where it stopped."""
    root = Path(root)
    wavs = sorted((root / "wav").glob("*.wav"))
    if not wavs:
        raise PtalkerError(f"{root}/wav: no .wav files; give a data set root in the standard layout")
    written = 0
    for number, wav in enumerate(wavs, start=1):
        out = phones_path(root, wav.stem)
        if out.is_file() and not overwrite:
            continue
        audio = load_audio(wav)
        out.parent.mkdir(exist_ok=True)
        save_json(out, {"recognized": recognize_phones(audio).to_json(), "aligned": _true_phones(root, wav.stem, audio)})
        written += 1
        if progress and number % 50 == 0:
            print(f"  {number}/{len(wavs)}", flush=True)
    return written


def _true_phones(root: Path, stem: str, audio) -> dict | None:
    """The true timeline of ``stem`` as JSON: the data set's own, else its text aligned, else None."""
    path = root / "align" / f"{stem}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    if data.get("phonemes"):
        return canonical_timeline(Speech.from_json(data)).to_json()
    if not data.get("text"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return align_transcript(audio, data["text"]).to_json()
    except PtalkerError:
        return None  # this sequence trains on recognized phones only


def load_phones(root: str | os.PathLike, stem: str) -> tuple[Speech, Speech | None]:
    """(recognized, aligned or None) timelines of sequence ``stem``."""
    path = phones_path(root, stem)
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; the phonetic channel needs the data set's phones: run "
                           f"'ptalker data phones --data {root}'")
    data = json.loads(path.read_text())
    aligned = data.get("aligned")
    return Speech.from_json(data["recognized"]), None if aligned is None else Speech.from_json(aligned)
