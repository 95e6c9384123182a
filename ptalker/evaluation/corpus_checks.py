"""Checks of a synthetic corpus, measured on its files (vertices, audio, phoneme timeline).

- Lip seals: for every /p b m/, the smallest lip gap (head-aligned, :func:`lip_gap`) over the
  frames from MAX_LEAD_S before the phoneme to its end; a seal counts when it is under
  CLOSED_GAP_M. Articulation may run up to MAX_LEAD_S ahead of the sound (anticipation).
- Jaw and vowels: the lip gap at the centre frame of each open vowel (/a/, /A:/, ...) and each
  close vowel (/i:/, /u:/, ...): open vowels should open the mouth wider.
- Audio and timeline: the lag between the wav's loudness and the loudness the phoneme timeline
  predicts (vowels loud, pauses silent; :func:`audio_timeline_lag`): 0 when the two share one
  clock. The lip seals check the motion against the same timeline.
- Audio-motion lag: :func:`audio_motion_lag` of each sequence's wav and lip gap (a rough,
  sentence-level measure: a sentence with little mouth motion can mislead it).
- Style: the speakers' :class:`StyleStatistics` (mean over their sequences) against the style
  parameters in speakers.json, as a Spearman rank correlation per parameter; anticipation
  against the speakers' median audio-motion lag (more anticipation, earlier mouth).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ptalker.audio.io import load_audio
from ptalker.audio.timeline import Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, METRES_TO_MM
from ptalker.data.layout import list_sequences, load_templates, load_vertex_sequence, vertices_path, wav_path
from ptalker.data.synth.corpus import load_alignment, load_speakers
from ptalker.data.synth.visemes import BILABIALS, CLOSE_VOWELS, OPEN_VOWELS, loudness
from ptalker.flame.masks import head_face_sets
from ptalker.metrics.face_measures import audio_motion_lag, lip_gap, style_statistics
from ptalker.metrics.lip_sync import CLOSED_GAP_M, closure_gaps

TIMING_FPS = 100.0
"""Rate at which audio and phoneme timeline are compared (10 ms)."""
STYLE_STATISTIC = {
    "lip_amplitude": ("lip_motion_mm", 1), "jaw_amplitude": ("jaw_opening_mm", 1),
    "smile_bias": ("smile_mm", 1), "asymmetry": ("asymmetry_mm", 1),
    "brow_activity": ("brow_motion_mm", 1), "head_motion": ("head_motion_deg", 1),
    "blink_rate_hz": ("blink_rate_hz", 1), "smoothness": ("jerk_ratio", -1),
}
"""Style parameter -> (the statistic that shows it, the direction it should move it)."""


def bilabial_gaps(gap: np.ndarray, speech: Speech, fps: float) -> np.ndarray:
    """(N,) the smallest lip gap around each /p b m/ of ``speech`` (see module docstring)."""
    return closure_gaps(gap, [(p.start_s, p.end_s) for p in speech.phonemes if p.symbol in BILABIALS], fps)


def vowel_gaps(gap: np.ndarray, speech: Speech, fps: float) -> dict[str, np.ndarray]:
    """{'open': (N_open,), 'close': (N_close,)} lip gaps at the vowels' centre frames."""
    out = {"open": [], "close": []}
    for p in speech.phonemes:
        kind = "open" if p.symbol in OPEN_VOWELS else "close" if p.symbol in CLOSE_VOWELS else None
        if kind:
            out[kind].append(gap[min(int(round(0.5 * (p.start_s + p.end_s) * fps)), len(gap) - 1)])
    return {kind: np.asarray(values) for kind, values in out.items()}


def timeline_loudness(speech: Speech, fps: float, num_frames: int) -> np.ndarray:
    """(T,) the loudness the phoneme timeline predicts (:func:`loudness`) at frames i / fps."""
    times = np.arange(num_frames) / fps
    curve = np.zeros(num_frames)
    for p in speech.phonemes:
        curve[(times >= p.start_s) & (times < p.end_s)] = loudness(p.symbol)
    return curve


def audio_timeline_lag(waveform: np.ndarray, sample_rate: int, speech: Speech) -> float:
    """Seconds by which the phoneme timeline follows the audio (0 when they share one clock).

    The audio envelope against :func:`timeline_loudness`, at TIMING_FPS, by cross-correlation.
    """
    num_frames = int(np.ceil(len(waveform) / sample_rate * TIMING_FPS))
    curve = timeline_loudness(speech, TIMING_FPS, num_frames)
    return audio_motion_lag(waveform, sample_rate, curve, TIMING_FPS)


@dataclass
class CorpusChecks:
    """The numbers :func:`check_corpus` measures (lengths in millimetres)."""

    sequences: int = 0
    bilabials: int = 0
    sealed_fraction: float = 0.0
    """Share of /p b m/ whose lip gap drops under CLOSED_GAP_M."""
    open_vowel_gap_mm: float = 0.0
    close_vowel_gap_mm: float = 0.0
    max_timeline_lag_s: float = 0.0
    """The largest |:func:`audio_timeline_lag`| of any sequence."""
    median_lag_s: float = 0.0
    """Median audio-motion lag (negative: the mouth leads the sound)."""
    style_rank_correlation: dict[str, float] = field(default_factory=dict)
    """Style parameter -> Spearman rho with its statistic, signed so that +1 is as intended."""

    def table(self) -> str:
        lines = [f"sequences {self.sequences}, /p b m/ {self.bilabials}: lips sealed (gap < "
                 f"{CLOSED_GAP_M * METRES_TO_MM:.1f} mm) on {100 * self.sealed_fraction:.1f}%",
                 f"lip gap at open vowels {self.open_vowel_gap_mm:.2f} mm, at close vowels "
                 f"{self.close_vowel_gap_mm:.2f} mm",
                 f"audio vs phoneme timeline: at most {1000 * self.max_timeline_lag_s:.0f} ms apart",
                 f"median audio-motion lag {1000 * self.median_lag_s:+.0f} ms (negative: mouth leads)"]
        lines += [f"style {name:>15} vs {STYLE_STATISTIC.get(name, ('-audio-motion lag',))[0]:<17} "
                  f"rank correlation {rho:+.2f}" for name, rho in self.style_rank_correlation.items()]
        return "\n".join(lines)


def check_corpus(root: str | os.PathLike) -> CorpusChecks:
    """Measure every sequence of the corpus in ``root`` (see module docstring)."""
    root = Path(root)
    speakers = load_speakers(root)
    templates = load_templates(root)
    sets = head_face_sets()
    seals, vowels, timing, lags = [], {"open": [], "close": []}, [], {sid: [] for sid in speakers}
    stats = {sid: [] for sid in speakers}
    names = list_sequences(root)
    for name in names:
        align = load_alignment(root, name.stem)
        rate, speech = align.fps, align.speech
        vertices = load_vertex_sequence(vertices_path(root, name))  # (T, V, 3)
        template = templates[name.subject]
        gap = lip_gap(vertices, sets, template)
        seals.append(bilabial_gaps(gap, speech, rate))
        for kind, values in vowel_gaps(gap, speech, rate).items():
            vowels[kind].append(values)
        audio = load_audio(wav_path(root, name))
        timing.append(abs(audio_timeline_lag(audio, AUDIO_SAMPLE_RATE_HZ, speech)))
        lags[name.subject].append(audio_motion_lag(audio, AUDIO_SAMPLE_RATE_HZ, gap, rate))
        stats[name.subject].append(style_statistics(vertices, template, sets, rate).to_dict())
    seals = np.concatenate(seals)
    correlation = {}
    if len(speakers) >= 3:
        for param, (statistic, sign) in STYLE_STATISTIC.items():
            values = [getattr(s.style, param) for s in speakers.values()]
            measured = [np.mean([d[statistic] for d in stats[sid]]) for sid in speakers]
            correlation[param] = float(sign * spearmanr(values, measured).statistic)
        leads = [-np.nanmedian(lags[sid]) for sid in speakers]  # more anticipation: mouth earlier
        correlation["anticipation_ms"] = float(spearmanr([s.style.anticipation_ms for s in speakers.values()],
                                                         leads).statistic)
    return CorpusChecks(
        sequences=len(names), bilabials=int(seals.size),
        sealed_fraction=float(np.mean(seals < CLOSED_GAP_M)) if seals.size else 0.0,
        open_vowel_gap_mm=float(np.mean(np.concatenate(vowels["open"]))) * METRES_TO_MM,
        close_vowel_gap_mm=float(np.mean(np.concatenate(vowels["close"]))) * METRES_TO_MM,
        max_timeline_lag_s=float(np.nanmax(timing)),
        median_lag_s=float(np.nanmedian(np.concatenate(list(lags.values())))),
        style_rank_correlation=correlation)
