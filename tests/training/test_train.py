"""Training: a tiny run end to end (the session's ``tiny_trained``), resuming that repeats an
uninterrupted run, the FaceFormer baseline, a data set on its own mesh, and 2-process distributed
training (gloo on CPU) launched by torchrun."""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import REPO, TINY_FACEFORMER_MODEL, TINY_MODEL, train_overrides

from ptalker.errors import PtalkerError
from ptalker.pipelines.checkpoint import load_checkpoint
from ptalker.training.config import LOSS_TERMS, load_train_config
from ptalker.training.loop import train


def config(data, out, *extra):
    return load_train_config(None, train_overrides(data, out, *extra))


def rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_tiny_run(tiny_trained):
    """The session's tiny run (helpers.train_overrides on tiny_corpus) is checked here."""
    result, run = tiny_trained.result, tiny_trained.out
    assert result.epochs == 2 and result.steps == 4  # 2 speakers x 2 pairs = 2 batches of 2 pairs per epoch
    log = rows(run / "train_log.csv")
    assert len(log) == 4 and set(LOSS_TERMS) <= set(log[0]) and all(float(r["total"]) > 0 for r in log)
    assert {r["style"] for r in log} <= {"identity", "reference"}
    val = rows(run / "val_log.csv")
    assert len(val) == 2 and all(float(r["val_lve"]) > 0 for r in val)
    best = load_checkpoint(run / "best.pt")
    assert best["extra"]["speakers"] == ["S01", "S02"] and best["config"]["model"]["num_speakers"] == 2
    assert best["topology"]["num_vertices"] > 5000


def test_resume_repeats_an_uninterrupted_run(tiny_trained, tmp_path):
    """Stopped after epoch 1 and started again, a run ends where the uninterrupted session run
    (tiny_trained, the same config but for ``out``) ended."""
    assert tiny_trained.overrides == train_overrides(tiny_trained.corpus, tiny_trained.out), "not config()'s run"
    parts = tmp_path / "parts"
    train(config(tiny_trained.corpus, parts, "max_steps=2"), progress=False)  # stops after epoch 1
    assert load_checkpoint(parts / "last.pt")["extra"]["train_state"]["step"] == 2
    train(config(tiny_trained.corpus, parts, "max_steps=2"), progress=False)  # already there: nothing to do
    assert len(rows(parts / "val_log.csv")) == 1, "a run resumed at its max_steps validated again"
    train(config(tiny_trained.corpus, parts), progress=False)  # started again: continues
    whole, parts = (load_checkpoint(folder / "last.pt") for folder in (tiny_trained.out, parts))
    assert parts["extra"]["train_state"]["step"] == whole["extra"]["train_state"]["step"] == 4
    for name, value in whole["model"].items():
        assert torch.allclose(value, parts["model"][name], atol=1e-5), name
    assert [r["step"] for r in rows(tmp_path / "parts" / "train_log.csv")] == ["1", "2", "3", "4"]


def test_stabilized_clips_lose_head_motion(tiny_corpus, standin_dir):
    """Training clips are stabilized: a clip turned and shifted as a whole comes back as it was."""
    from scipy.spatial.transform import Rotation

    from ptalker.data.dataset import TalkingHeadDataset
    from ptalker.data.splits import get_dataset_spec
    from ptalker.mesh.face_sets import rigid_region_ids
    from ptalker.mesh.regions import RegionMasks
    from ptalker.training.clips import stabilized

    item = TalkingHeadDataset(tiny_corpus, get_dataset_spec("custom", tiny_corpus / "dataset.yaml"), "train")[0]
    rigid = rigid_region_ids(RegionMasks.from_flame_masks(standin_dir / "FLAME_masks.pkl").all, "stand-in")
    still = stabilized(item, rigid).vertices
    turn = torch.from_numpy(Rotation.from_rotvec([0.2, -0.1, 0.05]).as_matrix()).float()
    moved = dataclasses.replace(item, vertices=still @ turn.T + torch.tensor([0.01, 0.0, -0.02]))
    assert (moved.vertices - still).abs().max() > 5e-3
    assert (stabilized(moved, rigid).vertices - still).abs().max() < 1e-5
    assert stabilized(item, None) is item
    with pytest.raises(PtalkerError, match="scalp"):
        rigid_region_ids({"left_ear": np.arange(3)}, "masks.pkl")


def write_grid_dataset(root, side=12, fps=25):
    """A data set on its own mesh (not the head's: a side x side grid, as BIWI is its own
    topology): ROOT/faces.npy, regions/lve.txt and fdd.txt, and a 'mouth' row that opens with the
    loudness of noise bursts. Returns the faces."""
    import soundfile

    from ptalker.data.layout import save_templates

    for folder in ("regions", "wav", "vertices_npy"):
        (root / folder).mkdir(parents=True)
    y, x = np.mgrid[0:side, 0:side]
    template = np.stack([x, y, np.zeros_like(x)], -1).reshape(-1, 3).astype(np.float32) * 0.01
    quads = (y * side + x)[:-1, :-1].ravel()
    faces = np.concatenate([np.stack([quads, quads + 1, quads + side], 1),
                            np.stack([quads + 1, quads + side + 1, quads + side], 1)])
    np.save(root / "faces.npy", faces)
    lips = np.arange(side) + side * (side // 3)
    (root / "regions" / "lve.txt").write_text(", ".join(map(str, lips)))
    (root / "regions" / "fdd.txt").write_text(", ".join(map(str, np.arange(side) + side * (side - 2))))
    rng = np.random.default_rng(0)
    templates = {"A": template, "B": template + 0.002}
    samples_per_frame = 16000 // fps
    for subject, base in templates.items():
        for k in range(1, 6):
            loud = rng.random(fps) < 0.5  # (T,) one second of frames
            audio = np.repeat(loud, samples_per_frame) * rng.normal(size=fps * samples_per_frame) * 0.3
            soundfile.write(root / "wav" / f"{subject}_s{k:02d}.wav", audio, 16000, subtype="PCM_16")
            frames = np.repeat(base[None], fps, axis=0)
            frames[:, lips, 1] -= 0.004 * loud[:, None]
            np.save(root / "vertices_npy" / f"{subject}_s{k:02d}.npy", frames.reshape(fps, -1))
    save_templates(root / "templates.pkl", templates)
    (root / "dataset.yaml").write_text(
        f"name: grid\nfps: {fps}\nfps_on_disk: {fps}\nnum_vertices: null\nregions: index_files\n"
        "condition_subjects: [A, B]\nsplits:\n  train: {subjects: [A, B], sentences: [s01, s02, s03, s04]}\n"
        "  val: {subjects: [A, B], sentences: [s05]}\n")
    return faces


def test_data_set_with_its_own_mesh(tmp_path):
    """A topology other than the head model's (as BIWI): the checkpoint carries the mesh, and the
    trained model animates it; stabilizing needs scalp and ears, which such meshes lack."""
    from ptalker.pipelines.animator import load_model

    faces = write_grid_dataset(tmp_path / "grid")
    with pytest.raises(PtalkerError, match="stabilize_head"):
        train(config(tmp_path / "grid", tmp_path / "run"), progress=False)
    train(config(tmp_path / "grid", tmp_path / "run", "stabilize_head=false", "max_frames=20"), progress=False)
    animator = load_model(tmp_path / "run" / "best.pt")
    result = animator.animate(np.random.default_rng(1).normal(size=8000).astype(np.float32) * 0.1, "B")
    assert result.vertices.shape == (12, 144, 3) and result.fps == 25.0
    np.testing.assert_array_equal(result.faces, faces)
    assert animator.topology.masks.lips.tolist() == list(range(48, 60))


@pytest.mark.parametrize("path", sorted((REPO / "configs" / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_train_configs_parse(path):
    """Every shipped training config names only known keys, and its data set spec exists."""
    config = load_train_config(path)
    assert config.epochs > 0 and config.model.content_dim > 0
    assert not config.dataset or (REPO / config.dataset).is_file()


def test_bad_batch_size(tiny_corpus, tmp_path):
    with pytest.raises(PtalkerError, match="batch_size"):
        train(config(tiny_corpus, tmp_path / "x", "batch_size=64"), progress=False)


@pytest.mark.slow
def test_two_process_distributed_training(tiny_corpus, tmp_path):
    """torchrun with 2 CPU processes (gloo): both take their share of batches, rank 0 writes.
    ``--standalone``: the rendezvous binds a free port of its own (no fixed port that a second
    run or another program could hold)."""
    out = tmp_path / "ddp"
    (tmp_path / "ddp.yaml").write_text(f"data: {tiny_corpus}\nout: {out}\n")
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "ptalker", "train", "--quiet", str(tmp_path / "ddp.yaml"), "batch_size=2", "max_frames=30",
            "epochs=1", *TINY_MODEL]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    log = rows(out / "train_log.csv")
    assert len(log) == 2, "4 pair batches of 1 pair over 2 processes: 2 steps each, logged by rank 0"
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()


def test_log_gains_columns(tmp_path):
    """A resumed run that logs a new loss term keeps every earlier row under the right column."""
    from ptalker.training.logs import write_log

    path = tmp_path / "log.csv"
    write_log(path, {"step": 1, "lip": 0.5})
    write_log(path, {"step": 2, "lip": 0.4, "lip_gap": 0.1})
    write_log(path, {"step": 3, "lip": 0.3, "lip_gap": 0.05})
    assert rows(path) == [{"step": "1", "lip": "0.5", "lip_gap": ""}, {"step": "2", "lip": "0.4", "lip_gap": "0.1"},
                          {"step": "3", "lip": "0.3", "lip_gap": "0.05"}]


def test_tiny_faceformer_run(tiny_corpus, tmp_path):
    """The baseline trains on the same batches, teacher-forced with identity styles and the motion
    terms only; its checkpoint animates training speakers (or their mean), not reference clips."""
    from ptalker.models.faceformer import FaceFormer
    from ptalker.pipelines.animator import Style, load_model
    from ptalker.training.config import MOTION_TERMS

    result = train(config(tiny_corpus, tmp_path / "ff", *TINY_FACEFORMER_MODEL), progress=False)
    assert result.epochs == 2 and result.steps == 4
    log = rows(tmp_path / "ff" / "train_log.csv")
    assert len(log) == 4 and set(MOTION_TERMS) <= set(log[0]) and all(float(r["total"]) > 0 for r in log)
    assert not set(LOSS_TERMS[len(MOTION_TERMS):]) & set(log[0]), f"PTalker-only terms logged: {list(log[0])}"
    assert {r["style"] for r in log} == {"identity"}
    val = rows(tmp_path / "ff" / "val_log.csv")
    assert len(val) == 2 and all(np.isfinite(float(r["val_lve"])) and float(r["val_lve"]) > 0 for r in val)
    best = load_checkpoint(tmp_path / "ff" / "best.pt")
    assert best["config"]["architecture"] == "faceformer" and best["config"]["faceformer"]["num_speakers"] == 2
    assert best["config"]["faceformer"]["dim"] == 16
    animator = load_model(tmp_path / "ff" / "best.pt")
    assert isinstance(animator.model, FaceFormer) and animator.architecture == "faceformer"
    V = animator.model.num_vertices
    audio = np.random.default_rng(1).normal(size=8000).astype(np.float32) * 0.1
    s1, s2, neutral = (animator.animate(audio, style).vertices for style in ("S01", Style(speaker="S02"), None))
    assert s1.shape == s2.shape == neutral.shape == (15, V, 3) and np.isfinite(neutral).all()
    assert not np.array_equal(s1, s2), "training speakers' styles should differ"
    assert np.abs(s1 - animator.topology.template).max() > 0, "the trained output layer still predicts zeros"
    reference = Style(reference_audio=audio, reference_motion=s1)
    with pytest.raises(PtalkerError, match="training speakers"):
        animator.animate(audio, reference)
    with pytest.raises(PtalkerError, match="training speakers"):
        animator.style_vector(Style(mix=[(reference, 1.0), (Style(speaker="S01"), 1.0)]))
    streamed = np.concatenate(list(animator.stream([audio[:3000], audio[3000:]], "S01")))
    assert streamed.shape == s1.shape


def test_early_stopping_ends_a_run_that_stopped_improving(tiny_corpus, tmp_path):
    """lr 0: val LVE never improves on epoch 1's, so patience 2 ends a 6-epoch run after epoch 3,
    and starting it again trains nothing more."""
    run = config(tiny_corpus, tmp_path / "run", "epochs=6", "lr=0", "patience=2", *TINY_FACEFORMER_MODEL)
    result = train(run, progress=False)
    assert result.stopped_early and result.epochs == 3 and result.steps == 6, result
    assert "stopped early" in str(result)
    val = [float(r["val_lve"]) for r in rows(tmp_path / "run" / "val_log.csv")]
    assert len(val) == 3 and val[0] == val[1] == val[2]
    assert load_checkpoint(tmp_path / "run" / "best.pt")["extra"]["epoch"] == 1
    again = train(run, progress=False)
    assert again.stopped_early and again.steps == 6 and len(rows(tmp_path / "run" / "val_log.csv")) == 3


def test_patience_counts_validations_since_the_best():
    from ptalker.training.run_state import patience_spent, record_validation

    state = {"best": float("inf"), "stale": 0}
    seen = [(record_validation(state, lve), state["stale"], patience_spent(state, 2)) for lve in (5.0, 4.0, 4.5, 4.0, 3.0, 6.0, 7.0)]
    assert seen == [(True, 0, False), (True, 0, False), (False, 1, False), (False, 2, True), (True, 0, False),
                    (False, 1, False), (False, 2, True)]
    assert state["best"] == 3.0
    assert not patience_spent({"stale": 50}, 0), "patience 0 never stops a run"
    with pytest.raises(PtalkerError, match="patience"):
        load_train_config(None, ["patience=-1"])


def test_fine_tuning_adds_a_phonetic_channel(tiny_trained, tmp_path):
    """init= starts from a trained checkpoint; the new phone input is the only new tensor, the
    clips read ROOT/phones (made by prepare_phones), and the result animates with phones."""
    import shutil

    from ptalker.data.phones import prepare_phones
    from ptalker.pipelines.animator import load_model

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_trained.corpus, corpus)
    assert prepare_phones(corpus) == 12
    out = tmp_path / "phones_run"
    train(config(corpus, out, f"init={tiny_trained.out / 'best.pt'}", "model.phone_classes=13", "max_steps=2",
                 "epochs=1"), progress=False)
    tuned, start = (load_checkpoint(path)["model"] for path in (out / "last.pt", tiny_trained.out / "best.pt"))
    assert set(tuned) - set(start) == {"phone_input.weight", "phone_input.bias"}
    animator = load_model(out / "last.pt")
    assert animator.uses_phones and not load_model(out / "last.pt", phones=False).uses_phones
    audio = np.random.default_rng(0).normal(0.0, 0.1, 16000).astype(np.float32)
    assert animator.animate(audio).vertices.shape[0] == 30
    bad = tmp_path / "bad_init"
    with pytest.raises(PtalkerError, match="its weights do not fit this network"):
        train(config(corpus, bad, f"init={tiny_trained.out / 'best.pt'}", "model.content_dim=24", "max_steps=1",
                     "epochs=1"), progress=False)
