"""The main job: load a trained checkpoint (the session's ``tiny_trained``), animate with every
kind of style, long audio in windows, and streaming."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ptalker.audio.io import load_audio
from ptalker.cli import main
from ptalker.data.layout import load_templates
from ptalker.errors import PtalkerError
from ptalker.pipelines import animate_folder
from ptalker.pipelines import animator as animator_module
from ptalker.pipelines.animator import Style

TEST_SPEAKER = "S04"
"""tiny_corpus's test speaker: not a training speaker of tiny_trained."""


@pytest.fixture
def animator(tiny_animator):
    return tiny_animator


def reference(corpus, stem, num_vertices):
    return Style(reference_audio=load_audio(corpus / "wav" / f"{stem}.wav"),
                 reference_motion=np.load(corpus / "vertices_npy" / f"{stem}.npy").reshape(-1, num_vertices, 3),
                 reference_template=load_templates(corpus)[stem.split("_")[0]])


def test_styles(tiny_trained, animator):
    corpus = tiny_trained.corpus
    audio = load_audio(corpus / "wav" / f"{TEST_SPEAKER}_sentence03.wav")
    V = animator.model.num_vertices
    frames = int(round(len(audio) / 16000 * animator.fps))
    neutral = animator.animate(audio)
    assert neutral.vertices.shape == (frames, V, 3) and neutral.vertices.dtype == np.float32
    assert neutral.fps == 30.0 and neutral.faces.shape[1] == 3
    s1, s2 = animator.animate(audio, "S01"), animator.animate(audio, Style(speaker="S02"))
    assert not np.allclose(s1.vertices, s2.vertices, atol=1e-7), "identity styles should differ"
    zero = animator.animate(audio, Style(speaker="S01", strength=0.0))
    np.testing.assert_allclose(zero.vertices, neutral.vertices, atol=1e-6)
    ref = animator.animate(audio, reference(corpus, f"{TEST_SPEAKER}_sentence04", V))
    assert np.isfinite(ref.vertices).all()
    half = animator.style_vector(Style(mix=[(Style(speaker="S01"), 1.0), (Style(speaker="S02"), 1.0)]))
    ends = [animator.style_vector(Style(speaker=s)) for s in ("S01", "S02")]
    np.testing.assert_allclose(half.numpy(), (0.5 * (ends[0] + ends[1])).numpy(), atol=1e-6)


def test_reference_style_ignores_head_motion(tiny_trained, animator):
    """The checkpoint was trained on stabilized clips (the default), so a reference clip's style
    does not change when the whole head turns and shifts; a changed face does."""
    corpus = tiny_trained.corpus
    style = reference(corpus, f"{TEST_SPEAKER}_sentence04", animator.model.num_vertices)
    assert animator.rigid is not None
    turn = Rotation.from_rotvec(np.linspace([0.0, 0.0, 0.0], [0.1, 0.25, -0.05], len(style.reference_motion)))
    moved = np.einsum("tij,tvj->tvi", turn.as_matrix(), style.reference_motion) + np.array([0.004, -0.01, 0.02])
    turned = dataclasses.replace(style, reference_motion=moved.astype(np.float32))
    np.testing.assert_allclose(animator.style_vector(turned).numpy(), animator.style_vector(style).numpy(),
                               atol=1e-4)
    lips = animator.topology.masks.lips
    raised = style.reference_motion.copy()
    raised[:, lips, 1] += 0.002  # lips held 2 mm higher
    changed = dataclasses.replace(style, reference_motion=raised)
    assert not np.allclose(animator.style_vector(changed).numpy(), animator.style_vector(style).numpy(), atol=1e-4)


def test_style_errors(animator):
    with pytest.raises(PtalkerError, match="S09"):
        animator.style_vector(Style(speaker="S09"))
    with pytest.raises(PtalkerError, match="give a speaker"):
        animator.style_vector(Style())
    with pytest.raises(PtalkerError, match="reference motion"):
        animator.style_vector(Style(reference_audio=np.random.randn(16000).astype(np.float32),
                                    reference_motion=np.zeros((10, 7, 3), np.float32)))
    with pytest.raises(PtalkerError, match="weights"):
        animator.style_vector(Style(mix=[(Style(speaker="S01"), 0.0)]))
    with pytest.raises(PtalkerError, match="template: expected"):
        animator.animate(np.random.default_rng(0).normal(size=8000).astype(np.float32) * 0.1,
                         template=np.zeros((7, 3), np.float32))


def test_long_audio_in_windows(tiny_trained, animator, monkeypatch):
    monkeypatch.setattr(animator_module, "WINDOW_FRAMES", 40)
    monkeypatch.setattr(animator_module, "OVERLAP_FRAMES", 10)
    audio = np.tile(load_audio(tiny_trained.corpus / "wav" / f"{TEST_SPEAKER}_sentence03.wav"), 2)
    out = animator.animate(audio, "S01").vertices
    assert out.shape[0] == int(round(len(audio) / 16000 * 30)) and np.isfinite(out).all()
    step = np.abs(np.diff(out, axis=0)).max(axis=(1, 2))  # (T-1,) largest per-frame change
    assert step.max() <= 3 * np.percentile(step, 99) + 1e-6, "a seam between windows"


def test_stream_with_a_trained_checkpoint(tiny_trained, animator, tmp_path, capsys):
    """Streaming gives as many frames as animate for every kind of style, writes the same files
    through animate_to_folder, reports its latency, and reports a bad style or chunk as animate does."""
    from ptalker.pipelines.streaming import StreamSettings, split_chunks

    corpus, checkpoint = tiny_trained.corpus, tiny_trained.checkpoint
    wav = corpus / "wav" / f"{TEST_SPEAKER}_sentence03.wav"
    audio = load_audio(wav)
    V = animator.model.num_vertices
    for style in (None, "S02", reference(corpus, f"{TEST_SPEAKER}_sentence04", V)):
        offline = animator.animate(audio, style).vertices
        pieces = list(animator.stream(split_chunks(audio, 0.25), style))
        assert all(p.ndim == 3 and p.shape[1:] == (V, 3) for p in pieces) and len(pieces) > 2
        streamed = np.concatenate(pieces)
        assert streamed.shape == offline.shape and np.isfinite(streamed).all()
    with pytest.raises(PtalkerError, match="S09"):
        next(animator.stream([audio], "S09"))
    with pytest.raises(PtalkerError, match="template: expected"):
        next(animator.stream([audio], template=np.zeros((7, 3), np.float32)))
    with pytest.raises(PtalkerError, match="finite"):
        list(animator.stream([audio[:1000], np.full(100, np.nan, np.float32)]))
    report = animate_folder.animate_to_folder(wav, tmp_path / "s", checkpoint=checkpoint, speaker="S01",
                                         formats=["npy"], stream_chunk_s=0.15)
    assert report.latency_s == pytest.approx(StreamSettings().latency_s(0.15, 30.0))
    assert "streamed; latency 283 ms" in str(report) and report.frames == len(offline)
    assert np.load(tmp_path / "s" / "vertices.npy").shape == offline.shape
    assert animate_folder.animate_to_folder(wav, tmp_path / "o", checkpoint=checkpoint, formats=["npy"]).latency_s is None
    assert main(["animate", str(wav), "--out", str(tmp_path / "c"), "--checkpoint", str(checkpoint),
                 "--stream", "--chunk-ms", "0"]) == 2
    assert "--chunk-ms 0: expected a number >= 10" in capsys.readouterr().err
