"""Phone timelines of real speech from pocketsphinx: forced alignment of a transcript, or
phone-loop recognition without one.

pocketsphinx (PyPI wheel) bundles an en-us acoustic model trained on real speech, the CMU
pronunciation dictionary and a phone language model. Its phones are ARPAbet; they are renamed
to the espeak-ng mnemonics the rest of the package uses (:data:`ARPABET_TO_ESPEAK`), so a
recognized timeline drives the same viseme tables as the synthetic corpus's. Times are in
seconds on the waveform's clock (pocketsphinx works in 10 ms frames).

- :func:`align_transcript` force-aligns words of a transcript (words missing from the
  dictionary are dropped with a warning) and returns phones with words.
- :func:`recognize_phones` decodes phones with the phone language model (no words).
- :func:`speech_timeline` picks: alignment when a transcript is given and it fits the audio,
  else recognition (with a one-line warning saying why).
- :func:`phone_features` turns a timeline into PTalker's phonetic-channel input: per frame, the
  share of each :data:`PHONE_CLASSES` sound class (:data:`SOUND_CLASS`).
"""

from __future__ import annotations

import os
import re
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from ptalker.audio.timeline import Phoneme, Speech, Word
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

FRAME_S = 0.01
"""pocketsphinx's frame period (100 frames per second)."""
ARPABET_TO_ESPEAK = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:",
    "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:",
    "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S", "T": "t",
    "TH": "T", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}
"""ARPAbet phone (stress digits removed) -> espeak-ng mnemonic; anything else (SIL, noise
fillers such as +NSN+) is a pause, '_'."""
PAUSE = "_"
MIN_ALIGNED_SPEECH_S = 0.05
"""An alignment whose words span less than this did not find the transcript in the audio."""
SILENCE_DBFS = -55.0
"""Recognized phones quieter than this (mean 10 ms RMS, dB re full scale) are pauses: the
phone loop always finds some phone, also in silence and hiss."""
MIN_AGREEMENT = 0.3
"""An aligned transcript whose phones agree with recognition (:func:`agreement`) on less of its
speech than this is taken as not matching the audio (on the real-speech set: matching
transcripts 0.35-0.84, mismatched ones 0.19-0.45 when pocketsphinx aligns them at all)."""


def to_espeak(phone: str) -> str:
    """The espeak-ng mnemonic of an ARPAbet phone ('AH0' -> 'V'), '_' for silence and noise."""
    return ARPABET_TO_ESPEAK.get(re.sub(r"\d", "", phone).upper(), PAUSE)


def _model_dir() -> Path:
    try:
        import pocketsphinx
    except ImportError:
        raise PtalkerError("pocketsphinx is not installed; run: pip install pocketsphinx") from None
    return Path(pocketsphinx.get_model_path()) / "en-us"


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    """The bundled CMU dictionary: word -> ARPAbet pronunciation (first variant)."""
    words: dict[str, str] = {}
    with open(_model_dir() / "cmudict-en-us.dict", encoding="utf-8") as handle:
        for line in handle:
            word, _, phones = line.strip().partition(" ")
            if "(" not in word:
                words.setdefault(word, phones)
    return words


def _decoder(**options):
    from pocketsphinx import Decoder

    model = _model_dir()
    return Decoder(hmm=str(model / "en-us"), dict=str(model / "cmudict-en-us.dict"), loglevel="FATAL",
                   **options)


def _pcm(audio: np.ndarray) -> bytes:
    """(S,) float audio at 16 kHz -> int16 little-endian bytes."""
    return (np.clip(np.asarray(audio, np.float64), -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _run(decoder, audio: np.ndarray) -> None:
    decoder.start_utt()
    decoder.process_raw(_pcm(audio), no_search=False, full_utt=True)
    decoder.end_utt()


def transcript_words(text: str) -> tuple[list[str], list[str]]:
    """(words the dictionary knows, words it does not) of ``text``, lower-cased, punctuation
    removed (apostrophes kept: "don't")."""
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    tokens = [t.strip("'") for t in tokens if t.strip("'")]
    known = _dictionary()
    return [t for t in tokens if t in known], [t for t in tokens if t not in known]


def read_transcript(path: str | os.PathLike) -> str:
    """The text of a UTF-8 transcript file.

    Raises:
        PtalkerError: the file is missing, unreadable, not UTF-8 text or empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PtalkerError(f"{path}: cannot read the transcript ({err.__class__.__name__}); expected a UTF-8 "
                           "text file") from None
    if not text.strip():
        raise PtalkerError(f"{path}: the transcript is empty; write the words spoken, or leave it out")
    return text


def _duration_s(audio: np.ndarray) -> float:
    return len(audio) / AUDIO_SAMPLE_RATE_HZ


def _fill(phonemes: list[Phoneme], duration_s: float) -> list[Phoneme]:
    """Phones ordered, contiguous and covering [0, duration_s] (pauses fill the gaps)."""
    out: list[Phoneme] = []
    clock = 0.0
    for ph in phonemes:
        start, end = max(ph.start_s, clock), min(ph.end_s, duration_s)
        if end <= start:
            continue
        if start > clock + 1e-9:
            out.append(Phoneme(PAUSE, 0, clock, start, -1))
        out.append(Phoneme(ph.symbol, ph.stress, start, end, ph.word))
        clock = end
    if clock < duration_s:
        out.append(Phoneme(PAUSE, 0, clock, duration_s, -1))
    merged: list[Phoneme] = []
    for ph in out:  # neighbouring pauses become one
        if merged and ph.is_pause and merged[-1].is_pause:
            merged[-1] = Phoneme(PAUSE, 0, merged[-1].start_s, ph.end_s, -1)
        else:
            merged.append(ph)
    return merged


def _frame_level_dbfs(audio: np.ndarray) -> np.ndarray:
    """(F,) RMS level of each 10 ms frame of (S,) audio in dB re full scale."""
    hop = int(FRAME_S * AUDIO_SAMPLE_RATE_HZ)
    frames = np.asarray(audio[: len(audio) // hop * hop], np.float64).reshape(-1, hop)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def recognize_phones(audio: np.ndarray) -> Speech:
    """Phone-loop recognition of (S,) float32 16 kHz speech: a timeline without words. Phones
    quieter than SILENCE_DBFS are pauses."""
    audio = np.asarray(audio, np.float32)
    decoder = _decoder(allphone=str(_model_dir() / "en-us-phone.lm.bin"), lm=None, lw=2.0, beam=1e-20,
                       pbeam=1e-20, backtrace=True)
    _run(decoder, audio)
    level = _frame_level_dbfs(audio)
    phones = []
    for seg in decoder.seg():
        loudness = level[seg.start_frame:seg.end_frame + 1]
        quiet = loudness.size == 0 or 10.0 * np.log10(np.mean(10.0 ** (loudness / 10.0))) < SILENCE_DBFS
        symbol = PAUSE if quiet else to_espeak(seg.word)
        phones.append(Phoneme(symbol, 0, seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S, -1))
    return Speech(audio, _fill(phones, _duration_s(audio)), [])


SOUND_CLASS = {
    **dict.fromkeys(("p", "b", "m"), "bilabial"), **dict.fromkeys(("f", "v"), "labiodental"),
    **dict.fromkeys(("T", "D"), "dental"), **dict.fromkeys(("t", "d", "n", "s", "z", "l"), "alveolar"),
    **dict.fromkeys(("S", "Z", "tS", "dZ"), "postalveolar"), **dict.fromkeys(("k", "g", "N"), "velar"),
    "r": "r", "j": "front", "h": "glottal",
    **dict.fromkeys(("i:", "I", "eI", "E"), "front"), **dict.fromkeys(("a", "A:", "V", "aI", "aU"), "open"),
    "3:": "mid", **dict.fromkeys(("O:", "oU", "u:", "U", "OI", "w"), "rounded"),
}
"""espeak symbol -> coarse sound class (place of articulation; a vowel's shape at its start),
for comparing two timelines of one recording."""


PHONE_CLASSES = ("pause", *sorted(set(SOUND_CLASS.values())))
"""The classes of the phonetic channel (:func:`phone_features`): pause, then the sound classes."""


def phone_features(speech: Speech, num_frames: int, fps: float) -> np.ndarray:
    """(T, P) float32: per frame, the share of its interval [(i - 1/2) / fps, (i + 1/2) / fps)
    that each :data:`PHONE_CLASSES` class takes (P = len(PHONE_CLASSES); rows sum to 1; time
    outside the timeline counts as pause). Phones shorter than a frame keep their share."""
    features = np.zeros((num_frames, len(PHONE_CLASSES)), np.float32)
    edges = (np.arange(num_frames + 1) - 0.5) / fps  # (T + 1,) frame interval bounds
    covered = np.zeros(num_frames)
    for phone in speech.phonemes:
        overlap = np.clip(np.minimum(edges[1:], phone.end_s) - np.maximum(edges[:-1], phone.start_s), 0.0, None)
        features[:, PHONE_CLASSES.index(SOUND_CLASS.get(phone.symbol, "pause"))] += overlap * fps
        covered += overlap * fps
    features[:, 0] += np.clip(1.0 - covered, 0.0, None)  # before the first and after the last phone
    return features


def agreement(aligned: Speech, recognized: Speech) -> float:
    """Share of the aligned timeline's speech time (0..1) during which the recognized phone has
    the same coarse class (:data:`SOUND_CLASS`, pauses their own class): about 0.5 and above
    when a transcript matches its audio, low when it does not."""
    step = FRAME_S
    times = np.arange(0.0, aligned.duration_s, step) + 0.5 * step

    def classes(speech: Speech) -> np.ndarray:
        starts = np.array([p.start_s for p in speech.phonemes])
        index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(starts) - 1)
        return np.array([SOUND_CLASS.get(speech.phonemes[i].symbol, "pause") for i in index])

    mine, theirs = classes(aligned), classes(recognized)
    speaking = mine != "pause"
    return float((mine[speaking] == theirs[speaking]).mean()) if speaking.any() else 0.0


def align_transcript(audio: np.ndarray, text: str) -> Speech:
    """Force-align ``text`` to (S,) float32 16 kHz speech.

    Returns:
        The timeline: phones (stress 0) and the words of the transcript.

    Raises:
        PtalkerError: no dictionary word in ``text``, or the alignment failed.
    """
    audio = np.asarray(audio, np.float32)
    words, unknown = transcript_words(text)
    if unknown:
        warnings.warn(f"transcript: {len(unknown)} word(s) not in the pronunciation dictionary, left out of "
                      f"the alignment: {', '.join(unknown[:8])}", stacklevel=2)
    if not words:
        raise PtalkerError(f"transcript '{text[:60]}': no word the pronunciation dictionary knows; give English "
                           "text, or leave the transcript out to recognize phones")
    decoder = _decoder(lm=None, backtrace=True)
    try:
        decoder.set_align_text(" ".join(words))
        _run(decoder, audio)
        decoder.set_alignment()
        _run(decoder, audio)
        alignment = decoder.get_alignment()
    except (RuntimeError, ValueError) as err:
        raise PtalkerError(f"transcript '{text[:60]}': pocketsphinx could not align it to the audio ({err})") from None
    phonemes, timeline_words = [], []
    for entry in alignment:
        name = entry.name.lower()
        if name in ("<s>", "</s>", "<sil>", "sil") or name.startswith("+") or name.startswith("["):
            continue
        start_s = entry.start * FRAME_S
        word_index = len(timeline_words)
        timeline_words.append(Word(re.sub(r"\(\d+\)$", "", name), start_s, (entry.start + entry.duration) * FRAME_S))
        for phone in entry:
            phonemes.append(Phoneme(to_espeak(phone.name), 0, phone.start * FRAME_S,
                                    (phone.start + phone.duration) * FRAME_S, word_index))
    if not timeline_words or timeline_words[-1].end_s - timeline_words[0].start_s < MIN_ALIGNED_SPEECH_S:
        raise PtalkerError(f"transcript '{text[:60]}': pocketsphinx found no words of it in the audio")
    return Speech(audio, _fill(phonemes, _duration_s(audio)), timeline_words)


def speech_timeline(audio: np.ndarray, text: str | None = None, source: str = "audio") -> Speech:
    """The phone timeline of (S,) float32 16 kHz speech: forced alignment of ``text`` when given
    and it fits the audio, else phone recognition. A transcript that cannot be aligned or does
    not match the audio gets a one-line warning naming ``source`` and falls back on recognition."""
    recognized = recognize_phones(audio)
    if text is None or not text.strip():
        return recognized
    try:
        aligned = align_transcript(audio, text)
        share = agreement(aligned, recognized)
        if share >= MIN_AGREEMENT:
            return aligned
        reason = f"it does not match the audio (recognized phones agree on {share:.0%} of it)"
    except PtalkerError as err:
        reason = str(err).split(": ", 1)[-1]
    warnings.warn(f"{source}: transcript not used, {reason}; using recognized phones", stacklevel=2)
    return recognized
