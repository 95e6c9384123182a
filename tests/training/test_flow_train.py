"""Training the flow talker (architecture 'flow') and animating with it: the session's tiny run
(``tiny_flow``), resuming, the features cache, and the sampler choices of the Animator."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from helpers import TINY_FACEFORMER_MODEL, flow_overrides, train_overrides

from ptalker.errors import PtalkerError
from ptalker.pipelines.animator import Style, load_model
from ptalker.pipelines.checkpoint import load_checkpoint
from ptalker.pipelines.flow_sampling import SamplerSettings
from ptalker.training.config import load_train_config
from ptalker.training.loop import train


def rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_tiny_flow_run(tiny_flow, tiny_trained):
    assert tiny_flow.result.epochs == 3 and tiny_flow.result.steps == 12  # 8 sequences / batch 2 = 4 steps an epoch
    assert len(rows(tiny_flow.out / "train_log.csv")) == 12
    assert all(float(r["val_lve"]) > 0 for r in rows(tiny_flow.out / "val_log.csv"))
    best = load_checkpoint(tiny_flow.checkpoint)
    assert best["config"]["architecture"] == "flow"
    assert best["extra"]["speakers"] == load_checkpoint(tiny_trained.checkpoint)["extra"]["speakers"]
    content = load_checkpoint(tiny_trained.checkpoint)["model"]
    for name, value in content.items():  # the content model is frozen: its weights are the init's
        assert torch.equal(best["model"][f"content_model.{name}"], value), name


def test_resume_repeats_an_uninterrupted_run(tiny_flow, tmp_path):
    parts = tmp_path / "parts"
    init = tiny_flow.overrides[2].split("=", 1)[1]
    train(load_train_config(None, flow_overrides(tiny_flow.corpus, parts, init, "max_steps=4")), progress=False)
    train(load_train_config(None, flow_overrides(tiny_flow.corpus, parts, init)), progress=False)
    whole, parts = (load_checkpoint(folder / "last.pt") for folder in (tiny_flow.out, parts))
    assert parts["extra"]["train_state"]["step"] == 12
    for name, value in whole["model"].items():
        assert torch.allclose(value, parts["model"][name], atol=1e-5), name


def test_cached_features_must_match_the_run(tiny_flow, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "features.pt").write_bytes((tiny_flow.out / "features.pt").read_bytes())
    init = tiny_flow.overrides[2].split("=", 1)[1]
    with pytest.raises(PtalkerError, match="cached features of .*basis_size.*8.*delete the file"):
        train(load_train_config(None, flow_overrides(tiny_flow.corpus, out, init, "flow.basis_size=6")),
              progress=False)


def test_flow_needs_a_ptalker_to_build_on(tiny_corpus, tmp_path):
    overrides = flow_overrides(tiny_corpus, tmp_path / "a", "''")
    with pytest.raises(PtalkerError, match="init: architecture 'flow' builds on a trained PTalker"):
        train(load_train_config(None, overrides), progress=False)
    faceformer = tmp_path / "ff"
    train(load_train_config(None, train_overrides(tiny_corpus, faceformer, "epochs=1", *TINY_FACEFORMER_MODEL)),
          progress=False)
    with pytest.raises(PtalkerError, match="expected a PTalker checkpoint, got architecture 'faceformer'"):
        train(load_train_config(None, flow_overrides(tiny_corpus, tmp_path / "b", faceformer / "best.pt")),
              progress=False)


@pytest.fixture(scope="module")
def flow_animator(tiny_flow):
    return load_model(tiny_flow.checkpoint)


@pytest.fixture(scope="module")
def speech():
    return np.random.default_rng(0).normal(scale=0.1, size=24000).astype(np.float32)


def test_a_flow_checkpoint_samples_by_default_and_keeps_its_decoder(flow_animator, tiny_animator, speech):
    assert flow_animator.sampler == "flow" and tiny_animator.sampler == "decoder"
    sampled = flow_animator.animate(speech, "S01").vertices
    assert sampled.shape == (45, flow_animator.model.num_vertices, 3) and np.isfinite(sampled).all()
    decoded = flow_animator.animate(speech, "S01", sampler="decoder").vertices
    np.testing.assert_allclose(decoded, tiny_animator.animate(speech, "S01").vertices, atol=1e-6)
    assert np.abs(sampled - decoded).max() > 1e-5


def test_seed_temperature_and_style_scale(flow_animator, speech):
    def run(**knobs):
        settings = SamplerSettings(**{"steps": 3, "temperature": 1.0, **knobs})
        return flow_animator.animate(speech, "S02", settings=settings).vertices

    assert np.array_equal(run(seed=1), run(seed=1))  # bit for bit
    assert not np.array_equal(run(seed=1), run(seed=2))
    assert np.array_equal(run(seed=1, temperature=0.0), run(seed=2, temperature=0.0))
    null = flow_animator.animate(speech, None, settings=SamplerSettings(steps=3, seed=1, temperature=1.0)).vertices
    assert np.array_equal(run(seed=1, cfg_style=0.0), null)  # style scale 0: the null style, exactly


def test_reference_clips_and_style_errors(flow_animator, tiny_flow, speech):
    from ptalker.data.dataset import TalkingHeadDataset
    from ptalker.data.splits import get_dataset_spec

    item = TalkingHeadDataset(tiny_flow.corpus, get_dataset_spec("custom", tiny_flow.corpus / "dataset.yaml"), "test")[0]
    style = Style(reference_audio=item.audio.numpy(), reference_motion=item.vertices.numpy())
    out = flow_animator.animate(speech, style).vertices
    assert out.shape[0] == 45 and np.isfinite(out).all()
    with pytest.raises(PtalkerError, match="speaker 'S09': not a training speaker .*S01, S02"):
        flow_animator.animate(speech, "S09")
    with pytest.raises(PtalkerError, match="style mix and --strength: the flow sampler takes one style"):
        flow_animator.animate(speech, Style(speaker="S01", strength=0.5))
    with pytest.raises(PtalkerError, match="--sampler decoder: the sampler settings"):
        flow_animator.animate(speech, "S01", sampler="decoder", settings=SamplerSettings())
    with pytest.raises(PtalkerError, match="--sampler fast: choose one of flow, decoder"):
        flow_animator.animate(speech, sampler="fast")


def test_decoder_checkpoints_have_no_sampler(tiny_animator, speech):
    with pytest.raises(PtalkerError, match="--sampler flow: this checkpoint \\(ptalker\\) has no generative sampler"):
        tiny_animator.animate(speech, sampler="flow")
