"""Lip sync without motion truth: does a vertex sequence move its lips where its speech says?

Any vertex sequence on the head's topology and the wav it speaks are scored against a phone
timeline: forced alignment of a transcript when one is given, else phone recognition
(:mod:`ptalker.audio.phones`), or a timeline file. Thresholds are relative to the head's scale,
its mouth width at rest (corner to corner, ``W``; 51.3 mm on the stand-in):

- bilabial closure: the share of /p b m/ where the lip gap drops under CLOSED_FRACTION * W
  (1.0 mm on the stand-in) within +- 40 ms of the phone; beside it the same share for the gap
  curve shifted in time (chance: frames picked at random).
- open vowels against closures: the median largest gap within open vowels (/A: a/, espeak
  mnemonics) and the median smallest gap around the bilabials, in mm, and their difference in
  units of W.
- labiodental contact: the share of /f v/ where the gap drops under LABIODENTAL_FRACTION * W
  (2.1 mm; the synthetic corpus tucks the lower lip to about 1 mm) within +- 40 ms.
- envelope correlation: the largest Pearson correlation between the lip gap and the speech's
  RMS envelope over lags of the mouth from -MAX_LAG_S to +MAX_LAG_S, and that lag.
- jitter: the lips' jerk ratio (mean |3rd difference| / mean |1st difference|, scaled to 30 fps;
  :func:`ptalker.metrics.face_measures.jerk_ratio`) over CORPUS_JERK_RATIO, the median of the
  synthetic corpus's motion: above 1 means more jittery than the corpus.

Lengths are reported in mm taking the vertices as metres (FLAME's unit).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ptalker.audio.io import load_audio
from ptalker.audio.timeline import Speech, read_timeline
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, METRES_TO_MM
from ptalker.data.synth.visemes import BILABIALS, OPEN_VOWELS
from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_frames
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.metrics.face_measures import envelope_correlations, jerk_ratio, lip_gap
from ptalker.metrics.lip_sync import SYNC_WINDOW_S, chance_rate, span_max, window_min

CLOSED_FRACTION = 0.02
"""Lips count as closed below this share of the mouth width (1.0 mm on the stand-in)."""
LABIODENTAL_FRACTION = 0.04
"""The lower lip counts as at the upper teeth below this share of the mouth width (2.1 mm)."""
LABIODENTALS = frozenset({"f", "v"})
MAX_LAG_S = 0.1
"""Envelope correlation looks at lags of the mouth within +- this."""
CORPUS_JERK_RATIO = 1.15
"""Median jerk ratio of the lips of the synthetic benchmark corpus's motion (40 sequences of
data/synth_benchmark, every 10th; 5-95%: 0.84-1.46)."""


@dataclass
class SyncScore:
    """Lip-sync scores of one sequence (see the module's docstring for definitions)."""

    phones_from: str
    """'transcript' (forced alignment), 'recognition' (phone loop) or 'timeline' (a file)."""
    bilabials: int
    bilabial_closure: float
    """Share of /p b m/ with the lips closed (0..1; NaN without bilabials)."""
    bilabial_chance: float
    """The same share for the gap curve shifted in time."""
    open_vowels: int
    open_vowel_gap_mm: float
    bilabial_gap_mm: float
    open_vs_closed: float
    """(open_vowel_gap - bilabial_gap) / mouth width."""
    labiodentals: int
    labiodental_contact: float
    envelope_correlation: float
    envelope_lag_s: float
    """> 0: the mouth follows the sound."""
    jitter: float
    """The lips' jerk ratio / CORPUS_JERK_RATIO."""
    mouth_width_mm: float
    closed_below_mm: float
    contact_below_mm: float

    def to_dict(self) -> dict:
        return {key: (None if isinstance(value, float) and math.isnan(value) else value)
                for key, value in asdict(self).items()}

    def table(self) -> str:
        """A readable table, thresholds stated."""
        def pct(value: float) -> str:
            return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"

        rows = [
            ("phones from", self.phones_from),
            (f"bilabial closure (/p b m/, gap < {self.closed_below_mm:.2f} mm)",
             f"{pct(self.bilabial_closure)} of {self.bilabials} (chance {pct(self.bilabial_chance)})"),
            ("gap at open vowels / at bilabials",
             f"{self.open_vowel_gap_mm:.2f} mm ({self.open_vowels}) / {self.bilabial_gap_mm:.2f} mm "
             f"(difference {self.open_vs_closed:.3f} mouth widths)"),
            (f"labiodental contact (/f v/, gap < {self.contact_below_mm:.2f} mm)",
             f"{pct(self.labiodental_contact)} of {self.labiodentals}"),
            ("lip gap / speech envelope correlation",
             f"{self.envelope_correlation:.2f} (mouth lag {1000 * self.envelope_lag_s:+.0f} ms)"),
            ("lip jitter / corpus", f"{self.jitter:.2f}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines.append(f"(mouth width {self.mouth_width_mm:.1f} mm; phone windows +- {1000 * SYNC_WINDOW_S:.0f} ms)")
        return "\n".join(lines)


def _spans(speech: Speech, symbols: frozenset) -> list[tuple[float, float]]:
    return [(p.start_s, p.end_s) for p in speech.phonemes if p.symbol in symbols]


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else float("nan")


def _envelope_correlation(gap: np.ndarray, waveform: np.ndarray, fps: float) -> tuple[float, float]:
    """(largest correlation, its lag in s) of the lip gap with the speech envelope."""
    if len(gap) < 3:
        return float("nan"), float("nan")
    lags, corr = envelope_correlations(waveform, AUDIO_SAMPLE_RATE_HZ, gap, fps, max(MAX_LAG_S, 1.0 / fps))
    if np.all(np.isnan(corr)):
        return float("nan"), float("nan")
    best = int(np.nanargmax(corr))
    return float(corr[best]), float(lags[best] / fps)


def sync_score(vertices: np.ndarray, fps: float, waveform: np.ndarray, speech: Speech, sets: FaceSets,
               template: np.ndarray, phones_from: str) -> SyncScore:
    """Score ``vertices`` (T, V, 3) at ``fps`` against ``waveform`` (S,) float32 16 kHz and its
    phone timeline ``speech``; ``template`` (V, 3) is the neutral face (its mouth width is the
    scale; head motion is removed on ``sets.rigid`` against it)."""
    vertices = as_frames(vertices, "vertices")
    sets.check(vertices.shape[1])
    aligned = remove_head_motion(vertices, template, sets.rigid).aligned  # (T, V, 3)
    gap = lip_gap(aligned, sets)  # (T,) of the head-aligned frames
    width = float(np.linalg.norm(template[sets.mouth_corners[0]] - template[sets.mouth_corners[1]]))
    closed_below, contact_below = CLOSED_FRACTION * width, LABIODENTAL_FRACTION * width
    bilabials, labiodentals = _spans(speech, BILABIALS), _spans(speech, LABIODENTALS)
    open_vowels = _spans(speech, OPEN_VOWELS)
    closure_gaps = window_min(gap, bilabials, fps)
    vowel_gaps = span_max(gap, open_vowels, fps)
    correlation, lag = _envelope_correlation(gap, waveform, fps)
    share = (lambda below, gaps: float((gaps < below).mean()) if gaps.size else float("nan"))
    return SyncScore(
        phones_from=phones_from, bilabials=len(bilabials), bilabial_closure=share(closed_below, closure_gaps),
        bilabial_chance=chance_rate(gap, bilabials, fps, closed_below), open_vowels=len(open_vowels),
        open_vowel_gap_mm=_median(vowel_gaps) * METRES_TO_MM, bilabial_gap_mm=_median(closure_gaps) * METRES_TO_MM,
        open_vs_closed=(_median(vowel_gaps) - _median(closure_gaps)) / width, labiodentals=len(labiodentals),
        labiodental_contact=share(contact_below, window_min(gap, labiodentals, fps)),
        envelope_correlation=correlation, envelope_lag_s=lag,
        jitter=jerk_ratio(aligned[:, sets.lips], fps) / CORPUS_JERK_RATIO, mouth_width_mm=width * METRES_TO_MM,
        closed_below_mm=closed_below * METRES_TO_MM, contact_below_mm=contact_below * METRES_TO_MM)


def phone_timeline(waveform: np.ndarray, text: str | None = None, timeline: str | os.PathLike | None = None,
                   source: str = "audio") -> tuple[Speech, str]:
    """(timeline, where its phones come from) of ``waveform``: the ``timeline`` file when given,
    else forced alignment of ``text``, else phone recognition (with a warning naming ``source``
    when the transcript does not fit the audio)."""
    from ptalker.audio.phones import speech_timeline

    if timeline is not None:
        return read_timeline(timeline), "timeline"
    speech = speech_timeline(waveform, text, source)
    return speech, "transcript" if speech.words else "recognition"


def sync_file(audio: str | os.PathLike, vertices: str | os.PathLike, text: str | None = None,
              timeline: str | os.PathLike | None = None, fps: float | None = None,
              template: str | os.PathLike | None = None) -> SyncScore:
    """``ptalker sync``: score the sequence file ``vertices`` (.npy/.npz on the head's topology)
    against the speech file ``audio`` (see :func:`phone_timeline`); ``template``: an (V, 3)
    .npy neutral face (default: the head model's)."""
    from ptalker.fileio import load_npy
    from ptalker.flame.flame_model import head_topology
    from ptalker.flame.masks import head_face_sets
    from ptalker.mesh.sequence_file import load_sequence, resolve_fps

    path = Path(vertices)
    sequence = load_sequence(path)
    rate = resolve_fps(fps, sequence, path)
    head = head_topology()
    if sequence.vertices.shape[1] != head.num_vertices:
        raise PtalkerError(f"{path}: {sequence.vertices.shape[1]} vertices, the head model has {head.num_vertices}; "
                           "the sync score needs a sequence on the head's topology")
    neutral = head.template if template is None else load_npy(template).reshape(-1, 3)
    if neutral.shape != head.template.shape:
        raise PtalkerError(f"{template}: expected a ({head.num_vertices}, 3) neutral face, got {neutral.shape}")
    waveform = load_audio(audio)
    speech, phones_from = phone_timeline(waveform, text, timeline, source=str(audio))
    return sync_score(sequence.vertices, rate, waveform, speech, head_face_sets(), neutral, phones_from)
