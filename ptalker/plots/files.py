"""Plots from files, as ``ptalker plot`` and ``ptalker evaluate --plots`` make them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ptalker.errors import PtalkerError


def read_timeline(path: str | os.PathLike):
    """The :class:`~ptalker.data.synth.espeak.Speech` timeline in a JSON file: a corpus alignment
    (``ROOT/align/<stem>.json``) or what ``Speech.to_json()`` writes."""
    from ptalker.data.synth.espeak import Speech

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PtalkerError(f"{path}: not a readable JSON timeline ({err}); give a corpus align/<stem>.json") from None
    return Speech.from_json(data)


def plot_lips_file(pred: str | os.PathLike, out_png: str | os.PathLike, truth: str | os.PathLike | None = None,
                   template: str | os.PathLike | None = None, timeline: str | os.PathLike | None = None,
                   fps: float | None = None) -> Path:
    """``ptalker plot lips``: the lip opening of the sequence file ``pred`` (and ``truth``), over
    the phoneme timeline in ``timeline`` when given; lip pairs from the head model's masks."""
    from ptalker.fileio import load_npy
    from ptalker.metrics.face_measures import FaceSets
    from ptalker.plots.lip_opening import plot_lip_opening
    from ptalker.plots.timeline import phoneme_spans, word_spans
    from ptalker.sequence_file import load_sequence, resolve_fps

    path = Path(pred)
    sequence = load_sequence(path)
    speech = read_timeline(timeline) if timeline is not None else None
    return plot_lip_opening(sequence.vertices, out_png, FaceSets.for_head(), resolve_fps(fps, sequence, path),
                            truth=None if truth is None else load_sequence(truth).vertices,
                            template=None if template is None else load_npy(template).reshape(-1, 3),
                            phonemes=None if speech is None else phoneme_spans(speech),
                            words=None if speech is None else word_spans(speech), title=path.stem)
