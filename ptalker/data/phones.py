"""Phone timelines of a data set's audio, for the phonetic channel of PTalker.

``ptalker data phones --data ROOT`` runs pocketsphinx (:mod:`ptalker.audio.phones`) on every
``ROOT/wav/<stem>.wav``: phone recognition always, forced alignment of the sequence's text too
when ``ROOT/align/<stem>.json`` holds one (the synthetic corpus's do). Training feeds the model
one of the two at random, so it learns to live with the recognizer's errors as well as with
aligned phones. Written to ``ROOT/phones/<stem>.json``::

    {"recognized": <timeline>, "aligned": <timeline> or null}

(timelines as :meth:`ptalker.audio.timeline.Speech.to_json`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from ptalker.audio.io import load_audio
from ptalker.audio.phones import align_transcript, recognize_phones
from ptalker.audio.timeline import Speech
from ptalker.errors import PtalkerError
from ptalker.fileio import save_json

PHONES_DIR = "phones"


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
        aligned = None
        align_file = root / "align" / f"{wav.stem}.json"
        text = json.loads(align_file.read_text()).get("text") if align_file.is_file() else None
        if text:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    aligned = align_transcript(audio, text).to_json()
            except PtalkerError:
                aligned = None  # this sequence trains on recognized phones only
        out.parent.mkdir(exist_ok=True)
        save_json(out, {"recognized": recognize_phones(audio).to_json(), "aligned": aligned})
        written += 1
        if progress and number % 50 == 0:
            print(f"  {number}/{len(wavs)}", flush=True)
    return written


def load_phones(root: str | os.PathLike, stem: str) -> tuple[Speech, Speech | None]:
    """(recognized, aligned or None) timelines of sequence ``stem``."""
    path = phones_path(root, stem)
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; the phonetic channel needs the data set's phones: run "
                           f"'ptalker data phones --data {root}'")
    data = json.loads(path.read_text())
    aligned = data.get("aligned")
    return Speech.from_json(data["recognized"]), None if aligned is None else Speech.from_json(aligned)
