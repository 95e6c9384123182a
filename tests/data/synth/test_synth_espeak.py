"""espeak-ng through ctypes: audio format, phoneme/word timeline, determinism, voices, errors."""

from __future__ import annotations

import ctypes
import json
import re
import sys

import espeakng_loader
import numpy as np
import pytest

from ptalker.audio.timeline import Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data.synth import espeak
from ptalker.data.synth.espeak import Voice, espeak_version, list_variants, synthesize
from ptalker.errors import PtalkerError

SENTENCE = "Mary bought a warm blue coat before the long winter."
PAUSED = "After the rain stopped, Mary painted her fence blue. Then Paul fed the goats, and Bob baked a pie."
VOWEL_FIRST_CHARS = set("aAeEiIoOuUV03@")
"""espeak's English vowel mnemonics start with one of these (consonants never do)."""
F0_RANGE_HZ = (60.0, 400.0)
MIN_SEGMENT_S = 0.04
TIME_TOLERANCE_S = 1e-9


@pytest.fixture(scope="module")
def speech() -> Speech:
    return synthesize(SENTENCE)


def is_vowel(symbol: str) -> bool:
    return symbol[0] in VOWEL_FIRST_CHARS


def segment(speech: Speech, start_s: float, end_s: float) -> np.ndarray:
    rate = speech.sample_rate
    return speech.waveform[max(int(round(start_s * rate)), 0):min(int(round(end_s * rate)), speech.waveform.size)]


def median_f0_hz(speech: Speech) -> float:
    """Median fundamental of the vowels, from the autocorrelation peak (a naive reference)."""
    low_lag, high_lag = (int(speech.sample_rate / f) for f in (F0_RANGE_HZ[1], F0_RANGE_HZ[0]))
    f0 = []
    for p in speech.phonemes:
        x = segment(speech, p.start_s, p.end_s).astype(np.float64)
        if not is_vowel(p.symbol) or p.end_s - p.start_s < MIN_SEGMENT_S or x.size <= high_lag:
            continue
        x -= x.mean()
        ac = np.correlate(x, x, "full")[x.size - 1:]
        f0.append(speech.sample_rate / (low_lag + int(np.argmax(ac[low_lag:high_lag]))))
    return float(np.median(f0))


def vowel_to_pause_energy(speech: Speech, shift_s: float = 0.0) -> float:
    """Median RMS inside vowels over median RMS inside pauses, with phoneme times shifted by shift_s."""

    def rms(p) -> float:
        x = segment(speech, p.start_s + shift_s, p.end_s + shift_s).astype(np.float64)
        return float(np.sqrt(np.mean(x ** 2))) if x.size else np.nan

    long_enough = [p for p in speech.phonemes if p.end_s - p.start_s > MIN_SEGMENT_S]
    vowels = [rms(p) for p in long_enough if is_vowel(p.symbol)]
    pauses = [rms(p) for p in long_enough if p.is_pause]
    assert len(vowels) > 10 and len(pauses) >= 2, (len(vowels), len(pauses))
    return float(np.nanmedian(vowels) / max(np.nanmedian(pauses), 1e-12))


def test_audio_is_16khz_float32_of_plausible_length(speech):
    assert speech.sample_rate == AUDIO_SAMPLE_RATE_HZ
    assert speech.waveform.dtype == np.float32 and speech.waveform.ndim == 1
    assert 2.0 < speech.duration_s < 4.5, speech.duration_s
    assert np.abs(speech.waveform).max() <= 1.0
    assert np.sqrt(np.mean(speech.waveform ** 2)) > 0.01


def test_phonemes_are_contiguous_and_cover_the_audio(speech):
    phonemes = speech.phonemes
    assert phonemes[0].start_s == 0.0
    assert abs(phonemes[-1].end_s - speech.duration_s) < TIME_TOLERANCE_S
    for before, after in zip(phonemes, phonemes[1:]):
        assert before.end_s == after.start_s, (before, after)
    assert all(p.end_s > p.start_s if p.is_pause else p.end_s >= p.start_s for p in phonemes)
    assert sum(p.end_s - p.start_s for p in phonemes) == pytest.approx(speech.duration_s, abs=1e-6)


def test_folded_l_is_kept_with_zero_length():
    # espeak gives a syllable-final /l/ no time of its own; it stays in the timeline.
    result = synthesize("The mailman sells waffles.")
    ls = [p for p in result.phonemes if p.symbol == "l"]
    assert len(ls) >= 2 and any(p.end_s == p.start_s for p in ls)
    assert [result.words[p.word].text for p in ls][:2] == ["mailman", "sells"]


def test_words_follow_the_text_and_own_their_phonemes(speech):
    assert [w.text for w in speech.words] == re.findall(r"[\w']+", SENTENCE)
    for before, after in zip(speech.words, speech.words[1:]):
        assert before.start_s < before.end_s <= after.start_s
    for p in speech.phonemes:
        if p.word >= 0:
            word = speech.words[p.word]
            assert word.start_s <= p.start_s <= p.end_s <= word.end_s, (p, word)
    assert {p.word for p in speech.phonemes if not p.is_pause} == set(range(len(speech.words)))


def test_stress_is_parsed_and_pauses_have_no_word(speech):
    assert all(not p.symbol.startswith(("'", ",")) for p in speech.phonemes)
    assert {p.stress for p in speech.phonemes} <= {0, 1, 2}
    assert sum(p.stress == 2 for p in speech.phonemes) >= 4  # Mary, bought, warm, blue, coat, ...
    assert speech.phonemes[-1].is_pause and speech.phonemes[-1].word == -1
    assert all((p.word == -1) == p.is_pause for p in speech.phonemes)
    assert espeak._split_stress("'aU") == ("aU", 2)
    assert espeak._split_stress(",oU") == ("oU", 1)
    assert espeak._split_stress("p") == ("p", 0)


def test_words_with_apostrophes_and_accents_keep_their_characters():
    # espeak reports "Mary's" with length 4; positions count characters, not UTF-8 bytes.
    result = synthesize("Mary's café, naïve? Don't worry.")
    assert [w.text for w in result.words] == ["Mary's", "café", "naïve", "Don't", "worry"]


def test_same_text_and_voice_give_identical_output():
    # A handle on the original library must not share state with the private copy.
    other_handle = ctypes.CDLL(espeakng_loader.get_library_path())
    other_handle.espeak_Initialize(espeak._AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
                                   espeak._INIT_DONT_EXIT)
    for voice in (Voice(), Voice(variant="m3"), Voice(variant="Reed")):
        first = synthesize(SENTENCE, voice)
        synthesize("Something else, said in between.", Voice(variant="f2", rate_wpm=300, pitch=90))
        second = synthesize(SENTENCE, voice)
        assert np.array_equal(first.waveform, second.waveform), voice
        assert first.phonemes == second.phonemes and first.words == second.words, voice


def test_json_round_trip(speech):
    data = json.loads(json.dumps(speech.to_json()))
    assert set(data) == {"phonemes", "words"}
    assert set(data["phonemes"][0]) == {"symbol", "stress", "start_s", "end_s", "word"}
    back = Speech.from_json(data, speech.waveform)
    assert back.to_json() == speech.to_json()
    assert max(abs(a.start_s - b.start_s) for a, b in zip(back.phonemes, speech.phonemes)) <= 5e-6
    timeline_only = Speech.from_json(data)
    assert timeline_only.waveform.size == 0 and timeline_only.duration_s == data["phonemes"][-1]["end_s"]
    with pytest.raises(PtalkerError, match="to_json"):
        Speech.from_json({"phonemes": [{"symbol": "p"}], "words": []})


def test_rate_changes_duration():
    slow = synthesize(SENTENCE, Voice(rate_wpm=120)).duration_s
    fast = synthesize(SENTENCE, Voice(rate_wpm=260)).duration_s
    assert slow > 1.6 * fast, (slow, fast)


def test_pitch_and_variant_change_the_fundamental():
    low = median_f0_hz(synthesize(SENTENCE, Voice(pitch=10)))
    high = median_f0_hz(synthesize(SENTENCE, Voice(pitch=90)))
    assert high > 1.3 * low, (low, high)
    male = synthesize(SENTENCE, Voice(variant="m3"))
    female = synthesize(SENTENCE, Voice(variant="f2"))
    assert median_f0_hz(female) > 1.3 * median_f0_hz(male)
    assert male.waveform.size != female.waveform.size or not np.array_equal(male.waveform, female.waveform)


def test_audio_and_phoneme_times_share_one_clock():
    result = synthesize(PAUSED)
    aligned = vowel_to_pause_energy(result)
    assert aligned > 20.0, aligned
    # Shifted timings must break the property, or the check above could not fail.
    for shift_s in (0.3, -0.3):
        assert vowel_to_pause_energy(result, shift_s) < 5.0, shift_s


def test_list_variants_and_version():
    variants = list_variants()
    assert {"m3", "f2", "klatt"} <= set(variants) and variants == sorted(variants)
    assert re.match(r"\d+\.\d+", espeak_version())


def test_errors_are_one_line_ptalker_errors():
    with pytest.raises(PtalkerError, match="list_variants"):
        synthesize(SENTENCE, Voice(variant="no-such-variant"))
    with pytest.raises(PtalkerError, match="xx-yy"):
        synthesize(SENTENCE, Voice(name="xx-yy"))
    for text in ("", "   "):
        with pytest.raises(PtalkerError, match="non-empty"):
            synthesize(text)
    with pytest.raises(PtalkerError, match="rate_wpm"):
        Voice(rate_wpm=1000)
    with pytest.raises(PtalkerError, match="pitch"):
        Voice(pitch=-1)
    with pytest.raises(PtalkerError, match="pitch_range"):
        Voice(pitch_range=101)
    assert Voice(rate_wpm=np.int64(200)).rate_wpm == 200 and type(Voice(rate_wpm=np.int64(200)).rate_wpm) is int


def test_missing_espeakng_loader_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import now raises ImportError
    monkeypatch.setattr(espeak, "_engine", [])
    with pytest.raises(PtalkerError, match="pip install espeakng-loader"):
        synthesize(SENTENCE)
