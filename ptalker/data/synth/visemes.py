"""Viseme targets for espeak-ng's English phonemes, in six articulatory channels.

Each phoneme becomes one or two :class:`Target` s (diphthongs move from a first to a second
target). A target gives, per channel, where the articulator goes (0..1) and how strongly this
phoneme insists on it (its dominance, Cohen & Massaro 1993): vowels insist on the jaw, /w/ on
rounding; /h/ and schwa barely insist on anything. Channels not named by a phoneme get a weak
"don't care" dominance at the neutral value 0, so neighbours decide them.

The lip seal (``closure``) and the lip tuck (``tuck``) are gestures rather than blended
positions: a /p/ closes the lips whatever the vowels around it do, so these two channels take
the strongest gesture at each instant (see :mod:`ptalker.data.synth.coarticulation`) and ignore
dominance.

Channels (all 0..1, scaled to the head's parameters in :mod:`ptalker.data.synth.motion`):
    jaw        jaw opening (close vowels ~0.2, open vowels 1.0)
    closure    lips pressed together (bilabials)
    tuck       lower lip up to the upper teeth (labiodentals)
    round      lips rounded and protruded (u, w, o, sh)
    spread     lips spread sideways (i, ee, y)
    aperture   lips parted beyond what the jaw gives (open vowels)
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHANNELS = ("jaw", "closure", "tuck", "round", "spread", "aperture")
GESTURE_CHANNELS = ("closure", "tuck")
"""Channels that follow the strongest gesture instead of the dominance-weighted blend."""
DONT_CARE = 0.05
"""Dominance of a channel a phoneme does not name."""
DIPHTHONG_SPLIT = 0.5
"""A diphthong's first target holds for this share of its duration, the second for the rest."""


@dataclass(frozen=True)
class Target:
    """Where one phoneme (or half a diphthong) sends each channel, and how strongly."""

    values: dict[str, float] = field(default_factory=dict)
    """Channel -> target value (0..1); channels left out are 0."""
    dominance: dict[str, float] = field(default_factory=dict)
    """Channel -> dominance strength; channels left out get DONT_CARE."""
    min_hold_s: float = 0.0
    """The target holds at least this long around the phoneme's centre (lip seals last ~70 ms
    even where espeak's segment is shorter than a video frame)."""

    def value(self, channel: str) -> float:
        return self.values.get(channel, 0.0)

    def strength(self, channel: str) -> float:
        return self.dominance.get(channel, DONT_CARE)


def _t(min_hold_s: float = 0.0, **channels: tuple[float, float]) -> Target:
    """Target from channel=(value, dominance) pairs."""
    return Target({c: v for c, (v, _) in channels.items()}, {c: d for c, (_, d) in channels.items()},
                  min_hold_s)


LIP_SEAL_HOLD_S = 0.07
LABIODENTAL_HOLD_S = 0.06

REST = _t(jaw=(0.0, 0.5), closure=(0.8, 1.0), round=(0.0, 0.3), spread=(0.0, 0.3))
"""Silence: the mouth relaxes shut (gradually: see REST_SETTLE_S)."""
REST_SETTLE_S = 0.25
"""A pause shorter than this closes the lips only partly (in proportion to its length)."""

CONSONANTS: dict[str, Target] = {
    "bilabial": _t(LIP_SEAL_HOLD_S, closure=(1.0, 1.0), jaw=(0.12, 0.5)),
    "labiodental": _t(LABIODENTAL_HOLD_S, tuck=(1.0, 1.0), jaw=(0.12, 0.5)),
    "dental": _t(jaw=(0.25, 0.4), aperture=(0.25, 0.5)),
    "alveolar": _t(jaw=(0.18, 0.4)),
    "sibilant": _t(jaw=(0.1, 0.6), spread=(0.3, 0.3)),
    "lateral": _t(jaw=(0.3, 0.4)),
    "postalveolar": _t(jaw=(0.15, 0.5), round=(0.6, 0.7), aperture=(0.3, 0.5)),
    "velar": _t(jaw=(0.3, 0.3)),
    "glottal": _t(),
    "rhotic": _t(jaw=(0.25, 0.3), round=(0.5, 0.6)),
    "labiovelar": _t(round=(1.0, 1.0), jaw=(0.1, 0.5), spread=(0.0, 0.6)),
    "palatal": _t(spread=(0.7, 0.6), jaw=(0.15, 0.4)),
}
CONSONANT_CLASS = {
    "p": "bilabial", "b": "bilabial", "m": "bilabial", "m-": "bilabial",
    "f": "labiodental", "v": "labiodental",
    "T": "dental", "D": "dental",
    "t": "alveolar", "d": "alveolar", "n": "alveolar", "n-": "alveolar", "t#": "alveolar",
    "d#": "alveolar", "t2": "alveolar", "d2": "alveolar", "?": "glottal", "r": "rhotic",
    "r-": "rhotic", "R": "rhotic", "s": "sibilant", "z": "sibilant", "l": "lateral",
    "l/": "lateral", "L": "lateral", "l#": "lateral",
    "S": "postalveolar", "Z": "postalveolar", "tS": "postalveolar", "dZ": "postalveolar",
    "k": "velar", "g": "velar", "N": "velar", "x": "velar", "h": "glottal",
    "w": "labiovelar", "W": "labiovelar", "hw": "labiovelar", "j": "palatal", "C": "palatal", ";": "palatal",
}

VOWEL_HEIGHT = {"close": 0.22, "mid": 0.5, "open": 1.0}
VOWEL_JAW_DOMINANCE = 0.8
REDUCED_DOMINANCE = 0.35
"""Schwa and other reduced vowels take their shape from their neighbours."""


def _vowel(height: str, round_: float = 0.0, spread: float = 0.0, reduced: bool = False) -> Target:
    jaw = VOWEL_HEIGHT[height]
    strength = REDUCED_DOMINANCE if reduced else VOWEL_JAW_DOMINANCE
    return _t(jaw=(jaw, strength), aperture=(0.4 * jaw, strength),
              round=(round_, 0.8 if round_ else 0.3), spread=(spread, 0.6 if spread else 0.3))


VOWELS: dict[str, tuple[Target, ...]] = {
    # monophthongs
    "i:": (_vowel("close", spread=1.0),), "i": (_vowel("close", spread=0.8),),
    "I": (_vowel("close", spread=0.6),), "I#": (_vowel("close", spread=0.4, reduced=True),),
    "I2": (_vowel("close", spread=0.5, reduced=True),), "u:": (_vowel("close", round_=1.0),),
    "U": (_vowel("close", round_=0.7),), "e": (_vowel("mid", spread=0.5),),
    "E": (_vowel("mid", spread=0.4),), "E2": (_vowel("mid", spread=0.4),),
    "@": (_vowel("mid", reduced=True),), "@2": (_vowel("mid", reduced=True),),
    "@5": (_vowel("mid", round_=0.3, reduced=True),), "@L": (_vowel("mid", reduced=True),),
    "3": (_vowel("mid", round_=0.4, reduced=True),), "3:": (_vowel("mid", round_=0.5),),
    "V": (_vowel("mid"),), "O:": (_vowel("mid", round_=0.7),), "O": (_vowel("mid", round_=0.6),),
    "o": (_vowel("mid", round_=0.8),), "a": (_vowel("open", spread=0.3),),
    "a#": (_vowel("open", reduced=True),), "aa": (_vowel("open", spread=0.2),),
    "A:": (_vowel("open"),), "0": (_vowel("open", round_=0.3),),
    # diphthongs: first target, second target
    "aI": (_vowel("open"), _vowel("close", spread=0.6)),
    "aU": (_vowel("open"), _vowel("close", round_=0.8)),
    "eI": (_vowel("mid", spread=0.5), _vowel("close", spread=0.8)),
    "oU": (_vowel("mid", round_=0.6), _vowel("close", round_=1.0)),
    "OI": (_vowel("mid", round_=0.7), _vowel("close", spread=0.6)),
    "e@": (_vowel("mid", spread=0.4), _vowel("mid", reduced=True)),
    "i@": (_vowel("close", spread=0.8), _vowel("mid", reduced=True)),
    "i@3": (_vowel("close", spread=0.8), _vowel("mid", round_=0.4, reduced=True)),
    "U@": (_vowel("close", round_=0.7), _vowel("mid", reduced=True)),
    "A@": (_vowel("open"), _vowel("mid", round_=0.4, reduced=True)),
    "O@": (_vowel("mid", round_=0.7), _vowel("mid", round_=0.4, reduced=True)),
    "o@": (_vowel("mid", round_=0.7), _vowel("mid", round_=0.4, reduced=True)),
    "aI@": (_vowel("open"), _vowel("mid", reduced=True)),
    "aI3": (_vowel("open"), _vowel("mid", round_=0.4, reduced=True)),
    "aU@": (_vowel("open"), _vowel("mid", reduced=True)),
}
OPEN_VOWELS = frozenset(s for s, targets in VOWELS.items() if targets[0].value("jaw") == VOWEL_HEIGHT["open"]
                        and len(targets) == 1)
CLOSE_VOWELS = frozenset(s for s, targets in VOWELS.items() if targets[0].value("jaw") == VOWEL_HEIGHT["close"]
                         and len(targets) == 1)
BILABIALS = frozenset(s for s, c in CONSONANT_CLASS.items() if c == "bilabial")


VOICED_CONSONANTS = frozenset("b d g m n N l r w j v D z Z dZ m- n- r- l/ L ;".split())


def loudness(symbol: str) -> float:
    """Roughly how loud a phoneme sounds (0 pause .. 1 vowel), for checking audio timing."""
    if is_pause(symbol):
        return 0.0
    if _known_prefix(symbol) in VOWELS:
        return 1.0
    return 0.5 if symbol in VOICED_CONSONANTS else 0.2


def is_pause(symbol: str) -> bool:
    """espeak writes pauses as '_', '_:', '_!' ..."""
    return symbol.startswith("_") or symbol == ""


def targets_for(symbol: str) -> tuple[Target, ...]:
    """The target(s) of an espeak phoneme symbol (stress marks already removed).

    Unknown symbols fall back on their longest known prefix (espeak adds variants such as
    'aI2' or 'r-'), and finally on a neutral, weakly dominant target.
    """
    if is_pause(symbol):
        return (REST,)
    head = _known_prefix(symbol)
    if head in VOWELS:
        return VOWELS[head]
    if head in CONSONANT_CLASS:
        return (CONSONANTS[CONSONANT_CLASS[head]],)
    return (_t(),)


def is_known(symbol: str) -> bool:
    """Whether :func:`targets_for` finds the symbol (or a prefix of it) in the tables."""
    return is_pause(symbol) or _known_prefix(symbol) is not None


def _known_prefix(symbol: str) -> str | None:
    """The longest prefix of ``symbol`` that the vowel or consonant table knows, or None."""
    return next((symbol[:end] for end in range(len(symbol), 0, -1)
                 if symbol[:end] in VOWELS or symbol[:end] in CONSONANT_CLASS), None)
