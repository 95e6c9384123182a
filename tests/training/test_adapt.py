"""Per-person LoRA adapters of the flow sampler: what trains, what is written, merged against
unmerged, and loading them back (Python and ``ptalker adapt`` / ``animate --adapter``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.models.lora import adapter_state, set_merged
from ptalker.pipelines.animator import load_model
from ptalker.pipelines.flow_sampling import SamplerSettings
from ptalker.training.adapt import AdaptSettings, adapt_person


@pytest.fixture(scope="module")
def clip(tiny_flow, tmp_path_factory):
    """A test speaker's sequence written as a user's files: (speech.wav, motion.npy)."""
    item = TalkingHeadDataset(tiny_flow.corpus, get_dataset_spec("custom", tiny_flow.corpus / "dataset.yaml"), "test")[0]
    folder = tmp_path_factory.mktemp("person")
    soundfile.write(folder / "speech.wav", item.audio.numpy(), 16000)
    np.save(folder / "motion.npy", item.vertices.numpy())
    return folder / "speech.wav", folder / "motion.npy", item


@pytest.fixture(scope="module")
def adapted(tiny_flow, clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "person.pt"
    before = tiny_flow.checkpoint.read_bytes()
    report = adapt_person(clip[0], clip[1], out, checkpoint=tiny_flow.checkpoint,
                          settings=AdaptSettings(rank=2, steps=20), progress=False)
    assert tiny_flow.checkpoint.read_bytes() == before  # the base weights are untouched on disk
    return out, report


def test_only_the_adapters_train(adapted):
    _, report = adapted
    data = torch.load(adapted[0], weights_only=True)
    lora = data["lora"]
    assert lora and all("lora_A" in name or "lora_B" in name for name in lora)
    assert report.trainable == sum(v.numel() for v in lora.values())
    blocks = {name.split(".lora_")[0] for name in lora}  # one adapter per targeted layer
    assert blocks == {f"blocks.0.{layer}" for layer in ("q", "k", "v", "o", "ff_in", "ff_out")}
    assert report.trainable < 0.1 * report.total and report.last_loss < report.first_loss
    assert data["template"].shape[1] == 3 and data["prompt"]["motion"].shape == (20, 8)


def test_merged_and_unmerged_adapters_agree(tiny_flow, adapted):
    animator = load_model(tiny_flow.checkpoint)
    animator.load_adapter(adapted[0])
    speech = np.random.default_rng(1).normal(scale=0.1, size=16000).astype(np.float32)
    settings = SamplerSettings(steps=3)
    merged = animator.animate(speech, settings=settings).vertices
    set_merged(animator.flow, False)
    unmerged = animator.animate(speech, settings=settings).vertices
    np.testing.assert_allclose(merged, unmerged, atol=1e-5)
    base = load_model(tiny_flow.checkpoint).animate(speech, "S01", settings=settings).vertices
    assert np.abs(merged - base).max() > 1e-6
    state = adapter_state(animator.flow)
    assert all(torch.equal(state[name], value) for name, value in torch.load(adapted[0], weights_only=True)["lora"].items())


def test_the_adapter_animates_the_person_on_their_face(tiny_flow, adapted, clip):
    animator = load_model(tiny_flow.checkpoint)
    animator.load_adapter(adapted[0])
    out = animator.animate(np.zeros(16000, np.float32) + 1e-3, settings=SamplerSettings(steps=2)).vertices
    face = np.median(clip[2].vertices.numpy(), axis=0)
    assert np.abs(out - face).mean() < np.abs(out - animator.topology.template).mean()


def test_adapters_refuse_other_bases_and_bad_files(tiny_flow, tiny_trained, adapted, tmp_path):
    from helpers import flow_overrides

    from ptalker.training.config import load_train_config
    from ptalker.training.loop import train

    with pytest.raises(PtalkerError, match="adapters fit the flow sampler; this checkpoint \\(ptalker\\) has none"):
        load_model(tiny_trained.checkpoint).load_adapter(adapted[0])
    other = tmp_path / "other"
    train(load_train_config(None, flow_overrides(tiny_flow.corpus, other, tiny_trained.checkpoint, "seed=1",
                                                 "epochs=1")), progress=False)
    with pytest.raises(PtalkerError, match="fitted to another checkpoint's sampler"):
        load_model(other / "best.pt").load_adapter(adapted[0])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a file of ours")
    with pytest.raises(PtalkerError, match="junk.pt: not a readable adapter file"):
        load_model(tiny_flow.checkpoint).load_adapter(junk)
    with pytest.raises(PtalkerError, match="--steps 0: expected a whole number >= 1"):
        AdaptSettings(steps=0).check()


def test_adapt_refuses_motion_of_another_clip(tiny_flow, clip, tmp_path):
    np.save(tmp_path / "short.npy", np.load(clip[1])[:20])
    with pytest.raises(PtalkerError, match="short.npy: 20 frames, but .*speech.wav lasts"):
        adapt_person(clip[0], tmp_path / "short.npy", tmp_path / "p.pt", checkpoint=tiny_flow.checkpoint,
                     settings=AdaptSettings(steps=1), progress=False)
    assert not (tmp_path / "p.pt").exists()


def test_adapt_and_animate_from_the_command_line(tiny_flow, clip, tmp_path):
    def ptalker(*args):
        return subprocess.run([sys.executable, "-m", "ptalker", *map(str, args)], capture_output=True, text=True)

    done = ptalker("adapt", "--audio", clip[0], "--motion", clip[1], "--out", tmp_path / "me.pt", "--checkpoint",
                   tiny_flow.checkpoint, "--rank", 2, "--steps", 5, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "adapted" in done.stdout and "ms/step" in done.stdout
    done = ptalker("animate", clip[0], "--out", tmp_path / "anim", "--checkpoint", tiny_flow.checkpoint, "--adapter",
                   tmp_path / "me.pt", "--steps", 2, "--format", "npy")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "anim" / "vertices.npy").is_file()
    done = ptalker("animate", clip[0], "--out", tmp_path / "x", "--checkpoint", tiny_flow.checkpoint, "--cfg-style", -1)
    assert done.returncode == 2 and "--cfg-style -1: expected a number >= 0" in done.stderr
