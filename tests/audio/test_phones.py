"""Phone timelines of real speech from pocketsphinx: forced alignment against the reference
phone times of a CMU ARCTIC sentence, recognition, and the fallbacks for bad transcripts."""

import difflib
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ptalker.audio.phones import (agreement, align_transcript, recognize_phones, speech_timeline, to_espeak,
                                  transcript_words)
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError

DATA = Path(__file__).parent / "data"
TEXT = "He turned sharply, and faced Gregson across the table."
MEDIAN_TOLERANCE_S = 0.04
"""Forced alignment against the reference: median |start error| of matched phones (10 ms frames)."""
MAX_TOLERANCE_S = 0.10


@pytest.fixture(scope="module")
def arctic() -> np.ndarray:
    audio, rate = soundfile.read(DATA / "arctic_a0009.wav", dtype="float32")
    assert rate == AUDIO_SAMPLE_RATE_HZ
    return audio


def _reference() -> list[tuple[float, str]]:
    rows = [line.split() for line in (DATA / "arctic_a0009_phones.txt").read_text().splitlines()
            if not line.startswith("#")]
    return [(float(start), to_espeak({"ax": "ah"}.get(name, name))) for start, _, name in rows]


def test_to_espeak_renames_arpabet_and_makes_silence_a_pause():
    assert to_espeak("AH0") == "V" and to_espeak("p") == "p" and to_espeak("IY1") == "i:"
    assert to_espeak("SIL") == "_" and to_espeak("+NSN+") == "_"


def test_transcript_words_splits_known_from_unknown():
    known, unknown = transcript_words("He turned, sharply! Qwzxv don't")
    assert known == ["he", "turned", "sharply", "don't"] and unknown == ["qwzxv"]


def test_alignment_matches_reference_phone_times(arctic):
    speech = align_transcript(arctic, TEXT)
    assert [w.text for w in speech.words] == ["he", "turned", "sharply", "and", "faced", "gregson", "across",
                                             "the", "table"]
    ours = [(p.start_s, p.symbol) for p in speech.phonemes if not p.is_pause]
    reference = [r for r in _reference() if r[1] != "_"]
    matcher = difflib.SequenceMatcher(a=[s for _, s in ours], b=[s for _, s in reference], autojunk=False)
    errors = [abs(ours[block.a + k][0] - reference[block.b + k][0])
              for block in matcher.get_matching_blocks() for k in range(block.size)]
    assert len(errors) >= 0.8 * len(reference)
    assert np.median(errors) <= MEDIAN_TOLERANCE_S and max(errors) <= MAX_TOLERANCE_S
    # the timeline covers the waveform without holes
    assert speech.phonemes[0].start_s == 0.0 and speech.phonemes[-1].end_s == pytest.approx(speech.duration_s)
    assert all(a.end_s == b.start_s for a, b in zip(speech.phonemes, speech.phonemes[1:]))


def test_recognition_finds_the_bilabials_near_their_true_times(arctic):
    recognized = recognize_phones(arctic)
    assert not recognized.words
    # /p/ of "sharply" (0.815 s) and /b/ of "table" (2.68 s) in the reference
    bilabials = [p.start_s for p in recognized.phonemes if p.symbol in ("p", "b", "m")]
    for true_s in (0.815, 2.68):
        assert min(abs(t - true_s) for t in bilabials) < 0.08
    assert agreement(align_transcript(arctic, TEXT), recognized) > 0.35


def test_mismatched_transcript_falls_back_on_recognition_with_a_warning(arctic):
    with pytest.warns(UserWarning, match="speech.wav: transcript not used"):
        speech = speech_timeline(arctic, "the quick brown fox jumps over the lazy dog again and again", "speech.wav")
    assert not speech.words and any(not p.is_pause for p in speech.phonemes)


def test_transcript_without_dictionary_words_is_a_clear_error(arctic):
    with pytest.raises(PtalkerError, match="no word the pronunciation dictionary knows"), \
            pytest.warns(UserWarning, match="2 word.s. not in the pronunciation dictionary"):
        align_transcript(arctic, "qwzxv blorptk")


def test_silence_and_faint_hiss_are_pauses():
    silence = np.random.default_rng(0).normal(0.0, 1e-4, AUDIO_SAMPLE_RATE_HZ).astype(np.float32)
    speech = speech_timeline(silence)
    assert all(p.is_pause for p in speech.phonemes)
    with pytest.warns(UserWarning, match="transcript not used"):
        assert all(p.is_pause for p in speech_timeline(silence, "hello world").phonemes)


def test_phone_features_share_each_frame_between_classes():
    from ptalker.audio.phones import PHONE_CLASSES, phone_features
    from ptalker.audio.timeline import Phoneme, Speech

    speech = Speech(np.zeros(0, np.float32), [Phoneme("_", 0, 0.0, 0.1, -1), Phoneme("m", 0, 0.1, 0.2, 0),
                                              Phoneme("A:", 0, 0.2, 0.4, 0)], [])
    features = phone_features(speech, 15, 30.0)  # frames past the timeline's end: pause
    assert features.shape == (15, len(PHONE_CLASSES))
    np.testing.assert_allclose(features.sum(axis=1), 1.0, atol=1e-6)
    bilabial, open_vowel, pause = (PHONE_CLASSES.index(name) for name in ("bilabial", "open", "pause"))
    # frame 3 spans [0.0833, 0.1167) s: half pause, half /m/; frame 4 is all /m/
    np.testing.assert_allclose(features[3, [pause, bilabial]], [0.5, 0.5], atol=1e-5)
    assert features[4, bilabial] == pytest.approx(1.0) and features[9, open_vowel] == pytest.approx(1.0)
    assert features[14, pause] == pytest.approx(1.0)
    short = Speech(np.zeros(0, np.float32), [Phoneme("p", 0, 0.10, 0.11, 0)], [])  # 10 ms, under a frame
    assert phone_features(short, 5, 30.0)[:, bilabial].sum() == pytest.approx(0.3, abs=1e-5)
