"""Speech with a phoneme timeline from espeak-ng, driven through its C library with ctypes.

The library and its voice data come from the PyPI wheel ``espeakng-loader``. espeak-ng runs in
synchronous mode with phoneme events enabled; a callback collects the int16 samples at the
native rate (22050 Hz) and the events. Each event carries ``sample``, the index of the native
sample where it starts, so phoneme times and the waveform share one clock (a time is
``sample / native rate`` seconds). The waveform is then resampled to 16 kHz float32
(docs/architecture.md, "Speech synthesis").

Determinism: espeak-ng keeps state between calls inside the library (the pitch "flutter" phase
is a function-level static in wavegen.c), so the same text said twice by one loaded library
differs slightly, even in length. Each synthesis therefore loads a private copy of the library
afresh, initialises it and unloads it afterwards (about 3 ms), and seeds libc's rand(), which
the Klatt-6 voices with breath noise use; the same text and voice then give bit-identical
audio and timings, whatever was said before.

Example::

    speech = synthesize("Mary bought a warm blue coat.", Voice(variant="m3"))
    speech.waveform        # (S,) float32 at 16 kHz
    speech.phonemes[0]     # Phoneme(symbol='m', stress=2, start_s=0.0, end_s=0.07, word=0)
    speech.words[0].text   # 'Mary'
"""

from __future__ import annotations

import _ctypes
import atexit
import contextlib
import ctypes
import functools
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.audio.io import resample
from ptalker.audio.timeline import PAUSE_PREFIX, Phoneme, Speech, Word
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, INT16_FULL_SCALE
from ptalker.errors import PtalkerError

RATE_MIN_WPM = 80
RATE_MAX_WPM = 450
"""espeakRATE limits in words per minute (espeak_ng.h: espeakRATE_MINIMUM/MAXIMUM)."""
PERCENT_MIN = 0
PERCENT_MAX = 100
"""Limits of espeakPITCH and espeakRANGE (percent of the voice's own pitch settings)."""

STRESS_MARKS = {"'": 2, ",": 1}
"""Leading stress marks of a phoneme mnemonic -> stress level (2 primary, 1 secondary)."""
VARIANT_DIR = Path("voices") / "!v"
"""Folder of voice variants inside espeak-ng-data."""

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_LENGTH_DEFAULT_MS = 2, 0
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME, _EVENT_SAMPLERATE = 0, 1, 7, 8
_EE_OK = 0
LIBC_RAND_SEED = 1
"""Klatt-6 variants with breath noise ("Reed", "caleb") draw from libc rand(); seeded before each call."""
_LIBC = ctypes.CDLL(None) if os.name == "posix" else None

_INSTALL_HINT = "pip install espeakng-loader"


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and its prosody settings.

    name: espeak voice ("en-us"); variant: a name from list_variants() ("m3", "f2", "klatt"),
    "" for none; rate_wpm: speaking rate in words per minute (80-450); pitch: base pitch and
    pitch_range: intonation range, both 0-100 (50 is the voice's own setting).
    """

    name: str = "en-us"
    variant: str = ""
    rate_wpm: int = 175
    pitch: int = 50
    pitch_range: int = 50

    def __post_init__(self) -> None:
        for field, low, high in (("rate_wpm", RATE_MIN_WPM, RATE_MAX_WPM), ("pitch", PERCENT_MIN, PERCENT_MAX),
                                 ("pitch_range", PERCENT_MIN, PERCENT_MAX)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise PtalkerError(f"Voice.{field}: got {value!r}, expected an integer in [{low}, {high}]")
            object.__setattr__(self, field, int(value))  # numpy integers become plain ints
        if not self.name or "+" in self.name:
            raise PtalkerError(f"Voice.name: got {self.name!r}; give an espeak voice such as 'en-us' (variant apart)")

    @property
    def espeak_name(self) -> str:
        """The name given to espeak_SetVoiceByName, e.g. "en-us+m3"."""
        return f"{self.name}+{self.variant}" if self.variant else self.name


class _Engine:
    """A private copy of the library, loaded afresh for every synthesis, and the synth callback."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise PtalkerError(f"espeak-ng is not installed; run `{_INSTALL_HINT}`") from None
        try:
            source = Path(espeakng_loader.get_library_path())
            self.data_path = Path(espeakng_loader.get_data_path())
            folder = Path(tempfile.mkdtemp(prefix="ptalker_espeak_"))
            atexit.register(_remove_folder, folder, os.getpid())
            # A copy of our own: its statics are ours even if someone else has the library open.
            self.library_path = Path(shutil.copyfile(source, folder / source.name))
        except (OSError, RuntimeError) as err:
            raise PtalkerError(f"espeak-ng library could not be loaded ({err}); run `{_INSTALL_HINT}`") from None
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, int, int, int, object]] = []
        self.callback = _Callback(self._collect)  # kept referenced: the C side holds only a pointer

    @contextlib.contextmanager
    def loaded(self):
        """Yield (library, native sample rate in Hz): freshly loaded and initialised, unloaded after."""
        try:
            lib = ctypes.CDLL(str(self.library_path))
        except OSError as err:
            raise PtalkerError(f"espeak-ng library could not be loaded ({err}); run `{_INSTALL_HINT}`") from None
        rate_hz = 0
        try:
            _declare(lib)
            rate_hz = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_LENGTH_DEFAULT_MS,
                                            str(self.data_path).encode(), _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
            if rate_hz <= 0:
                raise PtalkerError(f"espeak-ng failed to initialise with data {self.data_path}; "
                                   f"reinstall it (`{_INSTALL_HINT}`)")
            lib.espeak_SetSynthCallback(self.callback)
            yield lib, rate_hz
        finally:
            if rate_hz > 0:
                lib.espeak_Terminate()
            _unload(lib)

    def _collect(self, wav, num_samples: int, events) -> int:
        """The synth callback: copies int16 samples and events; returns 0 to continue."""
        if num_samples > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            payload = event.id.string.decode("ascii", "replace") if event.type == _EVENT_PHONEME else event.id.number
            self.events.append((event.type, event.text_position, event.length, event.sample, payload))
            i += 1
        return 0

    def speak(self, text: str, voice: Voice) -> tuple[np.ndarray, list, int]:
        """Synthesise ``text``: int16 samples (N,), the events in order, and the native rate in Hz."""
        if voice.variant and voice.variant not in _variants():
            raise PtalkerError(f"Voice.variant: unknown espeak variant {voice.variant!r}; "
                               "choose one of ptalker.data.synth.espeak.list_variants()")
        with self.loaded() as (lib, rate_hz):
            if lib.espeak_SetVoiceByName(voice.espeak_name.encode()) != _EE_OK:
                raise PtalkerError(f"Voice.name: espeak has no voice {voice.espeak_name!r}; give one such as "
                                   "'en-us' and a variant from ptalker.data.synth.espeak.list_variants()")
            for param, value in ((_PARAM_RATE, voice.rate_wpm), (_PARAM_PITCH, voice.pitch),
                                 (_PARAM_RANGE, voice.pitch_range)):
                lib.espeak_SetParameter(param, int(value), 0)
            self.chunks, self.events = [], []
            if _LIBC is not None:
                _LIBC.srand(LIBC_RAND_SEED)
            data = text.encode("utf-8")
            status = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
        chunks, events, self.chunks, self.events = self.chunks, self.events, [], []
        if status != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples, events, rate_hz


def _declare(lib: ctypes.CDLL) -> None:
    """Argument and return types of the functions used (speak_lib.h)."""
    c_int, c_uint = ctypes.c_int, ctypes.c_uint
    signatures = {
        "espeak_Initialize": ([c_int, c_int, ctypes.c_char_p, c_int], c_int),
        "espeak_SetSynthCallback": ([_Callback], None),
        "espeak_SetVoiceByName": ([ctypes.c_char_p], c_int),
        "espeak_SetParameter": ([c_int, c_int, c_int], c_int),
        "espeak_Synth": ([ctypes.c_void_p, ctypes.c_size_t, c_uint, c_int, c_uint, c_uint,
                          ctypes.POINTER(c_uint), ctypes.c_void_p], c_int),
        "espeak_Synchronize": ([], c_int),
        "espeak_Terminate": ([], c_int),
        "espeak_Info": ([ctypes.c_void_p], ctypes.c_char_p),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = argtypes, restype


def _remove_folder(folder: Path, owner_pid: int) -> None:
    """At exit, delete the library copy, but only in the process that made it (not in forks)."""
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


def _unload(lib: ctypes.CDLL) -> None:
    """Unload ``lib`` so the next load starts from clean statics (POSIX dlclose, Windows FreeLibrary)."""
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary")
    close(lib._handle)


_ENGINE_LOCK = threading.Lock()
_engine: list[_Engine] = []


def _get_engine() -> _Engine:
    """The process-wide engine; call with _ENGINE_LOCK held."""
    if not _engine:
        _engine.append(_Engine())
    return _engine[0]


def espeak_version() -> str:
    """The espeak-ng library version, e.g. "1.52.0"."""
    with _ENGINE_LOCK, _get_engine().loaded() as (lib, _):
        return lib.espeak_Info(None).decode()


def is_reproducible(variant: str) -> bool:
    """Whether ``variant`` gives the same audio in every process.

    Variants with a ``breath`` setting (f2, f3, f5, ...) mix in noise whose seed changes from
    process to process; every other variant is bit-for-bit reproducible.
    """
    if variant not in _variants():
        raise PtalkerError(f"Voice.variant: unknown espeak variant {variant!r}; choose one of "
                           "ptalker.data.synth.espeak.list_variants()")
    import espeakng_loader

    path = Path(espeakng_loader.get_data_path()) / VARIANT_DIR / variant
    return not any(line.split()[:1] == ["breath"] for line in path.read_text(errors="replace").splitlines())


def list_variants() -> list[str]:
    """Names of the voice variants in espeak-ng-data/voices/!v, sorted ("f1", "klatt", "m3", ...)."""
    return list(_variants())


@functools.lru_cache(maxsize=1)
def _variants() -> tuple[str, ...]:
    """list_variants(), read once per process."""
    try:
        import espeakng_loader
        folder = Path(espeakng_loader.get_data_path()) / VARIANT_DIR
    except (ImportError, RuntimeError):
        raise PtalkerError(f"espeak-ng is not installed; run `{_INSTALL_HINT}`") from None
    return tuple(sorted(path.name for path in folder.iterdir() if path.is_file()))


def synthesize(text: str, voice: Voice = Voice()) -> Speech:
    """Speak ``text`` with ``voice``: waveform (S,) float32 at 16 kHz plus phoneme and word timings.

    Deterministic: the same text and voice give a bit-identical waveform and timeline.

    Raises:
        PtalkerError: empty text, unknown voice or variant, espeak-ng not installed.
    """
    if not isinstance(text, str) or not text.strip():
        raise PtalkerError(f"synthesize: got text {text!r}; give a non-empty sentence")
    if "\x00" in text:
        raise PtalkerError("synthesize: the text holds a NUL character; remove it")
    with _ENGINE_LOCK:
        samples, events, native_rate_hz = _get_engine().speak(text, voice)
    if samples.size == 0:
        raise PtalkerError(f"synthesize: espeak produced no audio for {text!r}; give words to speak")
    waveform = resample(samples.astype(np.float32) / INT16_FULL_SCALE, native_rate_hz, AUDIO_SAMPLE_RATE_HZ)
    waveform = np.clip(waveform, -1.0, 1.0)  # (S,) the polyphase filter may overshoot a little
    phonemes, words = _timeline(text, events, samples.size, native_rate_hz, waveform.size / AUDIO_SAMPLE_RATE_HZ)
    return Speech(waveform=waveform, phonemes=phonemes, words=words)


def _split_stress(mnemonic: str) -> tuple[str, int]:
    """"'aU" -> ("aU", 2); ",oU" -> ("oU", 1); "p" -> ("p", 0)."""
    stress = 0
    while mnemonic[:1] in STRESS_MARKS:
        stress = max(stress, STRESS_MARKS[mnemonic[0]])
        mnemonic = mnemonic[1:]
    return mnemonic, stress


def _word_span(text: str, position: int, length: int) -> tuple[int, int]:
    """Span [start, end) in ``text`` of the word an event points at (1-based character position).

    espeak's ``length`` is unreliable ("Mary's" -> 4, "twenty-one" -> 7), so the span is the
    whitespace-separated token holding the position, without leading/trailing punctuation.
    """
    index = min(max(position - 1, 0), max(len(text) - 1, 0))
    for match in re.finditer(r"\S+", text):
        if match.start() <= index < match.end():
            inner = re.search(r"\w(.*\w)?", match.group(0))  # None for a token of punctuation only
            return (match.start() + inner.start(), match.start() + inner.end()) if inner else match.span()
    return index, min(index + max(length, 0), len(text))


def _timeline(text: str, events: list, num_native: int, native_rate_hz: int,
              duration_s: float) -> tuple[list[Phoneme], list[Word]]:
    """Phonemes and words from espeak events (in emission order).

    ``num_native`` is the number of native samples; ``duration_s`` the resampled waveform's
    length, which the last phoneme ends at. Zero-length pauses are dropped; a leading gap
    becomes a "_" pause.
    """
    spans: list[tuple[int, int]] = []  # character span of each word
    word_starts: list[int] = []  # native sample of each word's first event
    raw: list[tuple[str, int, int, int]] = []  # (symbol, stress, start sample, word)
    current_word = -1
    for kind, position, length, sample, payload in events:
        if kind == _EVENT_SAMPLERATE and payload != native_rate_hz:
            raise RuntimeError(f"espeak changed its sample rate to {payload} Hz mid-synthesis")
        if kind == _EVENT_WORD:
            span = _word_span(text, position, length)
            if not spans or spans[-1] != span:
                spans.append(span)
                word_starts.append(sample)
            current_word = len(spans) - 1
        elif kind == _EVENT_PHONEME:
            symbol, stress = _split_stress(payload)
            pause = symbol.startswith(PAUSE_PREFIX)
            raw.append((symbol, stress, sample, -1 if pause else current_word))
    starts = [item[2] for item in raw]
    if any(b < a for a, b in zip(starts, starts[1:])) or (starts and starts[-1] > num_native):
        raise RuntimeError(f"espeak phoneme events out of order or past the audio ({num_native} samples)")
    if not raw or raw[0][2] > 0:
        raw.insert(0, (PAUSE_PREFIX, 0, 0, -1))
    ends = [item[2] for item in raw[1:]] + [num_native]
    phonemes = [  # zero-length pauses carry nothing; zero-length sounds (a folded /l/) are kept
        Phoneme(symbol, stress, start / native_rate_hz, end / native_rate_hz, word)
        for (symbol, stress, start, word), end in zip(raw, ends) if end > start or not symbol.startswith(PAUSE_PREFIX)
    ]
    phonemes[-1].end_s = duration_s  # native and resampled lengths differ by under one 16 kHz sample
    words = []
    for index, (start, end) in enumerate(spans):
        mine = [p for p in phonemes if p.word == index]
        at_s = min(word_starts[index] / native_rate_hz, duration_s)  # used if all its phonemes had zero length
        words.append(Word(text[start:end], mine[0].start_s if mine else at_s, mine[-1].end_s if mine else at_s))
    return phonemes, words
