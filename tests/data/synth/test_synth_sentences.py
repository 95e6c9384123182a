"""The sentence grammar: determinism, spoken length, agreement, phoneme coverage and variety."""

from __future__ import annotations

import random
import re

import pytest

from ptalker.data.synth import sentences
from ptalker.data.synth.espeak import Voice, synthesize
from ptalker.data.synth.sentences import generate_sentences
from ptalker.errors import PtalkerError

COUNT = 40
SEED = 11
NUM_RAW = 600
"""Sentences drawn straight from the grammar (no synthesis) for the text-only checks."""
ENGLISH_PHONEMES = {
    "p", "b", "m", "f", "v", "T", "D", "t", "d", "n", "s", "z", "S", "Z", "tS", "dZ", "k", "g", "N", "l", "r",
    "w", "j", "h", "i:", "I", "E", "a", "A:", "0", "O:", "U", "u:", "V", "3:", "@", "eI", "aI", "OI", "oU", "aU",
}
"""espeak en-us mnemonics for every English consonant and vowel (espeak adds variants such as "@2")."""
VERB_BASES = {verb[0] for verb in sentences.VERBS}
THIRD_PERSON = {sentences._third_person(base) for base in VERB_BASES}
PAST_FORMS = {verb[1] for verb in sentences.VERBS}


@pytest.fixture(scope="module")
def chosen() -> list[str]:
    return generate_sentences(COUNT, SEED)


@pytest.fixture(scope="module")
def raw() -> list[str]:
    rng = random.Random(SEED)
    return [sentences._sentence(rng) for _ in range(NUM_RAW)]


def test_deterministic_per_seed(chosen):
    assert generate_sentences(COUNT, SEED) == chosen
    other = generate_sentences(COUNT, SEED + 1)
    assert len(set(other) & set(chosen)) < COUNT // 4


def test_count_uniqueness_and_form(chosen):
    assert len(chosen) == COUNT and len(set(chosen)) == COUNT
    for text in chosen:
        assert text[0].isupper() and text[-1] in ".?", text
        assert "  " not in text and " ," not in text and " ?" not in text and " ." not in text, text


def test_every_sentence_lasts_within_the_range(chosen):
    durations = [synthesize(text).duration_s for text in chosen]
    assert all(2.4 <= d <= 4.6 for d in durations), (min(durations), max(durations))
    faster = Voice(rate_wpm=260)
    for text in generate_sentences(5, SEED, duration_s=(1.5, 2.5), voice=faster):
        assert 1.5 <= synthesize(text, faster).duration_s <= 2.5, text


def test_articles_agree(raw):
    text = " ".join(raw).lower()
    for word in re.findall(r"\ban ([a-z]+)", text):
        assert word[0] in "aeiou" and not word.startswith(("uni", "ukul", "use")), word
    for word in re.findall(r"\ba ([a-z]+)", text):
        assert word[0] not in "aeiou" or word.startswith(("uni", "ukul", "use")), word
    assert sentences._with_article("old car") == "an old car"
    assert sentences._with_article("uniform") == "a uniform"
    assert sentences._with_article("hour") == "an hour"


def test_verbs_agree_with_their_subjects(raw):
    assert [sentences._third_person(v) for v in ("fix", "carry", "play", "brush", "go")] == [
        "fixes", "carries", "plays", "brushes", "goes"]
    statements = [s for s in raw if s.endswith(".")]
    for text in statements:
        for subject, verb in re.findall(r"\b(he|she|He|She) (\w+)", text):
            assert verb not in VERB_BASES - PAST_FORMS, text
        for subject, verb in re.findall(r"\b(I|we|they|you|We|They|You) (\w+)", text):
            assert verb not in THIRD_PERSON or verb in VERB_BASES, text
    adjectives = {a for pair in sentences.ADJECTIVES.values() for group in pair for a in group}  # "borrowed"
    inflected = (PAST_FORMS | THIRD_PERSON) - adjectives
    for text in raw:
        if re.match(r"(Did|Does|Do|Will|Can|Could|Should) ", text):  # the auxiliary carries tense
            assert not set(re.findall(r"\w+", text)) & (inflected - VERB_BASES), text
        assert not re.search(r"\bthere was (two|three|four|five|some|a few)\b", text.lower()), text
        assert not re.search(r"\bthere were (a|an) (?!few)", text.lower()), text


def test_vocabulary_is_large_and_lip_heavy(raw):
    words = {w.lower() for text in raw for w in re.findall(r"[A-Za-z']+", text)}
    assert len(words) >= 300, len(words)

    def share(pattern: str) -> float:
        return sum(bool(re.search(pattern, s, re.IGNORECASE)) for s in raw) / len(raw)

    assert share(r"[pbm]") > 0.9
    assert share(r"[fv]") > 0.5
    assert share(r"oo|o|w") > 0.9
    assert share(r"a") > 0.9


def test_all_english_phonemes_are_spoken(raw):
    spoken = {p.symbol for text in raw[:150] for p in synthesize(text).phonemes}
    assert ENGLISH_PHONEMES <= spoken, sorted(ENGLISH_PHONEMES - spoken)


def test_structures_vary(chosen, raw):
    assert len({s.split()[0] for s in chosen}) >= 15
    assert sum(s.endswith("?") for s in chosen) >= 4
    checks = {
        "wh-question": r"^(Why|When|Where|How|What|Who) .*\?$",
        "yes/no question": r"^(Did|Does|Do|Will|Can|Could|Should|Is|Were) .*\?$",
        "imperative": r"^(Please|Let's|Remember|Don't) ",
        "subordinate clause": r"^(When|After|Before|As soon as|While) [^,?]+, ",
        "relative clause": r" (who|that) ",
        "existential": r"^There (was|were) ",
        "past time": r" (yesterday|last \w+|ago)\.$",
        "habit": r" (every \w+|on \w+s|twice a week|once a month|after work|as usual|in the evening)\.$",
        "name": r"\b(Mary|Paul|Bob|Molly|Pablo|Phoebe|Vivian|Frank|Marvin)\b",
    }
    for name, pattern in checks.items():
        assert sum(bool(re.search(pattern, s)) for s in raw) >= 8, name


def test_bad_arguments_and_impossible_ranges(monkeypatch):
    with pytest.raises(PtalkerError, match="count"):
        generate_sentences(-1, SEED)
    with pytest.raises(PtalkerError, match="duration_s"):
        generate_sentences(3, SEED, duration_s=(3.0, 2.0))
    monkeypatch.setattr(sentences, "MIN_TRIES", 20)
    monkeypatch.setattr(sentences, "TRIES_PER_SENTENCE", 1)
    with pytest.raises(PtalkerError, match="found only 0 of 3"):
        generate_sentences(3, SEED, duration_s=(30.0, 31.0))
    assert generate_sentences(0, SEED) == []
