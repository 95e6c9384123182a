"""``ptalker animate``: a speech file (+ a style) in, a folder of outputs out
(ptalker.pipelines.animate_folder through ptalker.cli.main), and its argument errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from ptalker.audio.io import load_audio
from ptalker.cli import main
from ptalker.export.gltf import read_glb
from ptalker.export.pointcache import read_pc2
from ptalker.pipelines import animate_folder

TEST_SPEAKER = "S04"
"""tiny_corpus's test speaker: not a training speaker of tiny_trained."""


def test_animate_cli(tiny_trained, tmp_path, capsys):
    """``ptalker animate`` with a reference clip and with a speaker, every output format, the video;
    its one-line errors."""
    corpus, checkpoint = tiny_trained.corpus, tiny_trained.checkpoint
    wav = str(tmp_path / "speech.wav")  # the first second of a test sentence: 30 frames to write and render
    soundfile.write(wav, load_audio(corpus / "wav" / f"{TEST_SPEAKER}_sentence03.wav")[:16000], 16000, subtype="FLOAT")
    assert main(["animate", wav, "--out", str(tmp_path / "a"), "--checkpoint", str(checkpoint),
                 "--style-audio", str(corpus / "wav" / f"{TEST_SPEAKER}_sentence04.wav"),
                 "--style-motion", str(corpus / "vertices_npy" / f"{TEST_SPEAKER}_sentence04.npy")]) == 0
    assert "wrote" in capsys.readouterr().out
    vertices = np.load(tmp_path / "a" / "vertices.npy")
    assert vertices.shape[0] == 30 and vertices.ndim == 3
    assert len(list((tmp_path / "a" / "obj").glob("*.obj"))) == len(vertices)
    assert json.loads((tmp_path / "a" / "sequence.json").read_text())["fps"] == 30
    assert main(["animate", wav, "--out", str(tmp_path / "d"), "--checkpoint", str(checkpoint), "--speaker", "S01",
                 "--format", "glb", "pc2", "ply", "--video"]) == 0
    out = tmp_path / "d"
    assert {p.name for p in out.iterdir()} == {"vertices.npy", "sequence.json", "animation.glb", "animation.wav",
                                              "animation.pc2", "ply", "preview.mp4", "ptalker_output.json"}
    assert read_glb(out / "animation.glb").vertices.shape == np.load(out / "vertices.npy").shape
    assert read_pc2(out / "animation.pc2").vertices.shape == np.load(out / "vertices.npy").shape
    assert main(["animate", wav, "--out", str(tmp_path / "b"), "--checkpoint", str(checkpoint), "--speaker", "S01",
                 "--style-audio", wav]) == 2
    assert "either --speaker" in capsys.readouterr().err
    assert main(["animate", wav, "--out", str(tmp_path / "c"), "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.fixture
def speech_wav(tmp_path):
    """Half a second of a 16 kHz tone: a valid speech file for the command line."""
    path = tmp_path / "speech.wav"
    t = np.arange(8000) / 16000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, subtype="FLOAT")
    return path


@pytest.fixture
def no_model(monkeypatch):
    """Fails a test that loads a model: argument errors come before the (slow) model load."""
    def load_model(checkpoint=None):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(animate_folder, "load_model", load_model)


@pytest.mark.parametrize("value", ["0.5", "nan", "-1"])
def test_strength_without_a_style_is_an_error(value, speech_wav, tmp_path, capsys, no_model):
    """--strength scales a style: without --speaker or a reference clip it is an error, and so are
    a strength that is not a number >= 0; one line on stderr, exit status 2, nothing written."""
    out = tmp_path / "out"
    assert main(["animate", str(speech_wav), "--out", str(out), "--strength", value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ptalker: error: --strength") and captured.err.count("\n") == 1, captured.err
    assert not out.exists()


@pytest.mark.parametrize("value", ["nan", "-1", "inf"])
def test_strength_must_be_a_number_at_least_zero(value, speech_wav, tmp_path, capsys, no_model):
    """Not a usable strength even with a style: the same one-line error, before the model loads."""
    out = tmp_path / "out"
    assert main(["animate", str(speech_wav), "--out", str(out), "--speaker", "S01", "--strength", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ptalker: error: --strength ") and "expected a number >= 0" in err, err
    assert err.count("\n") == 1, err
    assert not out.exists()


def test_strength_with_a_speaker(tiny_trained, speech_wav, tmp_path):
    """The counterpart of the errors above: with a speaker, --strength 0.5 animates."""
    out = tmp_path / "out"
    assert main(["animate", str(speech_wav), "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint),
                 "--speaker", "S01", "--strength", "0.5", "--format", "npy"]) == 0
    assert np.load(out / "vertices.npy").shape[0] == 15  # 0.5 s at 30 fps


def test_rules_animate_without_a_network_and_refuse_style_options(tmp_path, capsys):
    from pathlib import Path

    wav = Path(__file__).parents[1] / "audio" / "data" / "arctic_a0009.wav"
    assert main(["animate", str(wav), "--out", str(tmp_path / "r"), "--rules", "--format", "npy",
                 "--text", "He turned sharply, and faced Gregson across the table."]) == 0
    vertices = np.load(tmp_path / "r" / "vertices.npy")
    assert vertices.shape[0] == 93 and np.isfinite(vertices).all()
    assert main(["animate", str(wav), "--out", str(tmp_path / "s"), "--rules", "--speaker", "S01"]) == 2
    assert "--rules: animates from phones with the corpus's average style; leave out --speaker" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
