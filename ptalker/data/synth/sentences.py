"""Varied, natural English sentences from a small grammar, for the synthetic speech corpus.

Nouns come in typed categories and every verb names the categories it takes ("bake a pumpkin
pie", never "bake a tractor"); places and times suit the verb and the tense. Productions build
statements (past, habitual present, future), wh- and yes/no questions, imperatives, subordinate
and relative clauses and "there was/were" sentences, with a/an, third-person -s, irregular pasts
and plurals agreeing. The words lean on bilabials (p b m), labiodentals (f v), rounded vowels
(oo, o, w) and open vowels (a, ah), which move lips and jaw most, and cover every English
phoneme. generate_sentences() draws from a seeded ``random.Random`` (no global state) and keeps
sentences whose synthesis lasts within the requested range.
"""

from __future__ import annotations

import random

from ptalker.data.synth.espeak import Voice, synthesize
from ptalker.data.synth.lexicon import (
    ADJECTIVES,
    CONJUNCTIONS,
    EVENTS,
    FEMALE_NAMES,
    FUTURE_TIMES,
    HABIT_TIMES,
    HABITS,
    LOCATIONS,
    MALE_NAMES,
    PAINT_COLORS,
    PAST_TIMES,
    PEOPLE,
    PEOPLE_ADJECTIVES,
    PLACES,
    PLURAL_CATEGORIES,
    PLURAL_SUBJECTS,
    PRONOUNS,
    RELATIVE_ADJECTIVES,
    RELATIVE_FIXED,
    RELATIVE_SOURCES,
    RELATIVES,
    SOON_TIMES,
    THINGS,
    VERBS,
    WH_HABIT_WORDS,
    WH_WORDS,
    WORN_ADJECTIVES,
)
from ptalker.errors import PtalkerError

DEFAULT_DURATION_RANGE_S = (2.4, 4.6)
"""Spoken length of a sentence, seconds (min, max)."""
TRIES_PER_SENTENCE = 60
MIN_TRIES = 1000
"""generate_sentences() gives up after max(MIN_TRIES, TRIES_PER_SENTENCE * count) draws."""

def _pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def _maybe(rng: random.Random, probability: float, text: str) -> str:
    return text if rng.random() < probability else ""  # "" leaves the part out of _join()


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _forms(entry: str) -> tuple[str, str]:
    """"scarf:scarves" -> ("scarf", "scarves"); "coat" -> ("coat", "coats")."""
    singular, _, plural = entry.partition(":")
    return singular, plural or singular + "s"


def _with_article(phrase: str) -> str:
    """"a" or "an" before ``phrase`` by its first sound ("an old car", "a uniform", "an hour")."""
    first = phrase.split()[0].lower()
    vowel_sound = first[0] in "aeiou" and not first.startswith(("uni", "use", "usu", "ukul", "eu", "one"))
    vowel_sound = vowel_sound or first.startswith(("hour", "honest", "heir"))
    return ("an " if vowel_sound else "a ") + phrase


def _third_person(base: str) -> str:
    """Present third-person singular: "fix" -> "fixes", "carry" -> "carries", "play" -> "plays"."""
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


def _owner(rng: random.Random, possessive: str) -> str:
    return possessive or _pick(rng, ("his", "her"))  # "" = either


def _subject(rng: random.Random) -> tuple[str, str, bool]:
    """(text, possessive, takes third-person -s): a name, pronoun, relative, person or group."""
    kind = rng.random()
    adjective = _maybe(rng, 0.35, _pick(rng, PEOPLE_ADJECTIVES))
    relation = _maybe(rng, 0.3, _pick(rng, RELATIVE_ADJECTIVES))
    if kind < 0.35:
        female = rng.random() < 0.5
        return _pick(rng, FEMALE_NAMES if female else MALE_NAMES), "her" if female else "his", True
    if kind < 0.55:
        return _pick(rng, PRONOUNS)
    if kind < 0.75:
        noun, possessive = _pick(rng, RELATIVES)
        return _join(_pick(rng, ("my", "our", "your", "her", "his")), relation, noun), _owner(rng, possessive), True
    if kind < 0.9:
        noun, possessive = _pick(rng, PEOPLE)
        return _join("the", adjective, noun), _owner(rng, possessive), True
    return _pick(rng, PLURAL_SUBJECTS), "their", False


def _person_object(rng: random.Random, owner: str) -> str:
    """A person as an object: "Paul", "her grandmother", "the friendly baker"."""
    kind = rng.random()
    adjective = _maybe(rng, 0.3, _pick(rng, PEOPLE_ADJECTIVES))
    if kind < 0.35:
        return _pick(rng, FEMALE_NAMES + MALE_NAMES)
    if kind < 0.75:
        relation = _maybe(rng, 0.3, _pick(rng, RELATIVE_ADJECTIVES))
        return _join(_pick(rng, (owner, owner, "our", "my")), relation, _pick(rng, RELATIVES)[0])
    return _join("the", adjective, _pick(rng, PEOPLE)[0])


def _noun_phrase(rng: random.Random, category: str, owner: str, style: str = "any", flags: str = "") -> str:
    """"a warm blue coat", "her old truck", "three ripe plums"; ``owner`` is a possessive.

    style "any": a/the/that/owner or a counted plural; "definite": the/owner; "habit": what one
    does as a habit ("sells old books", "plays the tuba", "drives her van"). ``flags`` as in VERBS;
    "color" leaves colours out (the verb adds one: "painted the barn purple").
    """
    if category == "people":
        return _person_object(rng, owner)
    flags = flags.split()
    owner = "the" if "get" in flags or "make" in flags else owner
    singular, plural = _forms(_pick(rng, THINGS[category]))
    general, colors = ADJECTIVES[category]
    general = tuple(a for a in general if a not in WORN_ADJECTIVES) if "make" in flags else general
    colors = () if "color" in flags else colors
    adjectives = _join(_maybe(rng, 0.6, _pick(rng, general)), _maybe(rng, 0.35, _pick(rng, colors or ("",))))
    can_count = category in PLURAL_CATEGORIES and "one" not in flags
    if style == "habit" and can_count:
        return _join(_pick(rng, (owner, "")), adjectives, plural)
    if style == "any" and can_count and rng.random() < 0.25:
        return _join(_pick(rng, ("two", "three", "some", "a few", "the", owner)), adjectives, plural)
    if style == "definite" and can_count and rng.random() < 0.2:
        return _join(_pick(rng, ("the", owner)), adjectives, plural)
    determiner = _pick(rng, ("a", "a", "the", owner, "that") if style == "any" else ("the", owner, owner))
    phrase = _join(adjectives, singular)
    return _with_article(phrase) if determiner == "a" else f"{determiner} {phrase}"


def _verb_phrase(rng: random.Random, form: str, owner: str, place: float = 0.55, style: str = "any") -> str:
    """"bought a warm coat at the mall"; ``form`` is "past", "base" or "third" (present -s).

    ``style`` as in _noun_phrase; "habit" also picks a verb that makes sense as a habit.
    """
    if style == "habit":
        verbs = [v for v in VERBS if v[0] in HABITS]
    else:
        verbs = [v for v in VERBS if form == "past" or "past" not in v[4].split()]
    base, past, categories, places, flags = _pick(rng, verbs)
    category = _pick(rng, (HABITS[base] if style == "habit" else categories).split())
    color = _pick(rng, PAINT_COLORS) if base == "paint" and rng.random() < 0.5 else ""
    style = "definite" if style == "any" and "the" in flags.split() else style
    phrase = _noun_phrase(rng, category, owner, style, flags + " color" * bool(color))
    word = {"past": past, "base": base, "third": _third_person(base)}[form]
    return _join(word, phrase, color, _maybe(rng, place, _pick(rng, PLACES[places] or ("",))))


def _with_time(rng: random.Random, clause: str, times: tuple[str, ...], probability: float = 0.7) -> str:
    return _join(clause, _maybe(rng, probability, _pick(rng, times)))


def _statement(rng: random.Random) -> str:
    """Past, present-habitual or future statement."""
    subject, owner, third = _subject(rng)
    tense = rng.random()
    if tense < 0.5:
        return _with_time(rng, f"{subject} {_verb_phrase(rng, 'past', owner)}", PAST_TIMES)
    if tense < 0.75:
        phrase = _verb_phrase(rng, "third" if third else "base", owner, 0.3, "habit")
        return _with_time(rng, f"{subject} {phrase}", HABIT_TIMES, 0.85)
    auxiliary = _pick(rng, ("will", "is going to" if third else "will", "might", "should"))
    return _with_time(rng, f"{subject} {auxiliary} {_verb_phrase(rng, 'base', owner, 0.4, 'definite')}", FUTURE_TIMES)


def _wh_question(rng: random.Random) -> str:
    """"Why did the old farmer paint his barn purple?", "What did Mary bake for the party?"."""
    subject, owner, third = _subject(rng)
    kind = rng.random()
    if kind < 0.2:
        base, _, categories, places, _ = _pick(rng, [v for v in VERBS if v[3]])
        wh = "who" if categories == "people" else "what"
        return f"{wh} did {subject} {base} {_pick(rng, PLACES[places] + PAST_TIMES)}?"
    if kind < 0.32:
        return _with_time(rng, f"who {_verb_phrase(rng, 'past', _owner(rng, ''))}", PAST_TIMES, 0.6) + "?"
    if kind < 0.45:
        wh = _pick(rng, WH_HABIT_WORDS)
        clause = f"{wh} {'does' if third else 'do'} {subject} {_verb_phrase(rng, 'base', owner, 0.0, 'habit')}"
        return (clause if wh != "why" else _with_time(rng, clause, HABIT_TIMES)) + "?"
    wh = _pick(rng, WH_WORDS)
    clause = f"{wh} did {subject} {_verb_phrase(rng, 'base', owner, 0.0 if wh == 'where' else 0.7)}"
    return (clause if wh == "when" else _with_time(rng, clause, PAST_TIMES, 0.8)) + "?"


def _yes_no_question(rng: random.Random) -> str:
    """"Did Paul fix the old truck?", "Does your sister play the violin on Sundays?"."""
    subject, owner, third = _subject(rng)
    kind = rng.random()
    if kind < 0.35:
        return _with_time(rng, f"did {subject} {_verb_phrase(rng, 'base', owner)}", PAST_TIMES, 0.8) + "?"
    if kind < 0.6:
        clause = f"{'does' if third else 'do'} {subject} {_verb_phrase(rng, 'base', owner, 0.4, 'habit')}"
        return _with_time(rng, clause, HABIT_TIMES, 0.9) + "?"
    if kind < 0.8:
        auxiliary = _pick(rng, ("will", "can", "could", "should"))
        clause = f"{auxiliary} {subject} {_verb_phrase(rng, 'base', owner, 0.6, 'definite')}"
        return _with_time(rng, clause, FUTURE_TIMES, 0.85) + "?"
    category = _pick(rng, tuple(LOCATIONS))
    singular, plural = _forms(_pick(rng, THINGS[category]))
    adjective, where = _pick(rng, ADJECTIVES[category][0]), _pick(rng, LOCATIONS[category])
    if rng.random() < 0.5:
        return f"{_pick(rng, ('is there', 'is there still'))} {_with_article(_join(adjective, singular))} {where}?"
    return f"were there any {adjective} {plural} {where} {_pick(rng, PAST_TIMES)}?"


def _imperative(rng: random.Random) -> str:
    """"Please bring your warm coat to the party.", "Let's paint the fence blue this weekend."."""
    opener = _pick(rng, ("", "please", "let's", "don't forget to", "remember to"))
    owner = "our" if opener == "let's" else "your"
    return _with_time(rng, _join(opener, _verb_phrase(rng, "base", owner, 0.7, "definite")), SOON_TIMES, 0.7) + "."


def _subordinate(rng: random.Random) -> str:
    """"After the rain stopped, Mary painted her fence blue.", "Bob fed the goats before the storm passed."."""
    subject, owner, _ = _subject(rng)
    main = f"{subject} {_verb_phrase(rng, 'past', owner, 0.25)}"
    clause = f"{_pick(rng, CONJUNCTIONS)} {_pick(rng, EVENTS)}"
    return f"{clause}, {main}." if rng.random() < 0.55 else f"{main} {clause}."


def _relative(rng: random.Random) -> str:
    """"The farmer who sells plums moved to Vermont.", "Paul wore the coat that his aunt bought."."""
    if rng.random() < 0.5:
        noun, possessive = _pick(rng, PEOPLE)
        owner = _owner(rng, possessive)
        who = _pick(rng, RELATIVE_FIXED) if rng.random() < 0.4 else _verb_phrase(rng, "third", owner, 0.0, "habit")
        return f"the {noun} who {who} {_verb_phrase(rng, 'past', owner, 0.3)}."
    subject, owner, _ = _subject(rng)
    other = _subject(rng)[0]
    while other.lower() == subject.lower():
        other = _subject(rng)[0]
    _, past, categories, _, flags = _pick(rng, [v for v in VERBS if v[2] != "people" and "make" not in v[4]])
    thing = _noun_phrase(rng, _pick(rng, categories.split()), owner, "definite", flags)
    clause = f"{subject} {past} {thing} that {other} {_pick(rng, [v for v in RELATIVE_SOURCES if v != past])}"
    return _with_time(rng, clause, PAST_TIMES, 0.3) + "."


def _existential(rng: random.Random) -> str:
    """"There was a purple van in the driveway.", "There were three fluffy lambs in the meadow."."""
    category = _pick(rng, tuple(LOCATIONS))
    singular, plural = _forms(_pick(rng, THINGS[category]))
    adjective = _join(_maybe(rng, 0.8, _pick(rng, ADJECTIVES[category][0])),
                      _maybe(rng, 0.4, _pick(rng, ADJECTIVES[category][1] or ("",))))
    if rng.random() < 0.5:
        thing = f"was {_with_article(_join(adjective, singular))}"
    else:
        thing = f"were {_join(_pick(rng, ('two', 'three', 'four', 'some', 'a few', 'five')), adjective, plural)}"
    return _with_time(rng, f"there {thing} {_pick(rng, LOCATIONS[category])}", PAST_TIMES, 0.8) + "."


PRODUCTIONS = ((_statement, 0.26), (_wh_question, 0.16), (_yes_no_question, 0.14), (_imperative, 0.1),
               (_subordinate, 0.13), (_relative, 0.13), (_existential, 0.08))
"""(production, probability of being drawn)."""


def _sentence(rng: random.Random) -> str:
    """One capitalised sentence ending in "." or "?"."""
    productions, weights = zip(*PRODUCTIONS)
    text = rng.choices(productions, weights)[0](rng)
    text = text if text.endswith(("?", ".")) else text + "."
    return text[0].upper() + text[1:]


def generate_sentences(count: int, seed: int, duration_s: tuple[float, float] = DEFAULT_DURATION_RANGE_S,
                       voice: Voice = Voice()) -> list[str]:
    """``count`` distinct sentences whose synthesis with ``voice`` lasts within ``duration_s`` seconds.

    Deterministic per ``seed``. Each candidate is synthesised once to measure it (~10 ms).

    Raises:
        PtalkerError: bad count or range, or not enough sentences fit the range.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise PtalkerError(f"generate_sentences: count must be a non-negative integer, got {count!r}")
    low, high = (float(value) for value in duration_s) if len(duration_s) == 2 else (0.0, 0.0)
    if not 0.0 < low <= high:
        raise PtalkerError(f"generate_sentences: duration_s must be (min, max) with 0 < min <= max, got {duration_s}")
    rng = random.Random(seed)
    chosen: list[str] = []
    seen: set[str] = set()
    tries = max(MIN_TRIES, TRIES_PER_SENTENCE * count)
    for _ in range(tries):
        if len(chosen) == count:
            break
        text = _sentence(rng)
        if text in seen:
            continue
        seen.add(text)
        if low <= synthesize(text, voice).duration_s <= high:
            chosen.append(text)
    if len(chosen) < count:
        raise PtalkerError(f"generate_sentences: found only {len(chosen)} of {count} sentences lasting "
                           f"{low}-{high} s with voice {voice.espeak_name!r} at {voice.rate_wpm} wpm after "
                           f"{tries} tries; widen duration_s or change the rate")
    return chosen
