"""The synthetic corpus: layout, splits, determinism, lip seals, vowels, styles, audio alignment.

Most tests read the session's tiny corpus (conftest's ``tiny_corpus``, made from
helpers.TINY_CORPUS, which training and animation tests share); the determinism test makes it a
second time and compares every byte.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from helpers import TINY_CORPUS, assert_allclose

from ptalker.audio.io import load_audio
from ptalker.cli import main
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.layout import list_sequences, load_templates, load_vertex_sequence, vertices_path, wav_path
from ptalker.data.splits import get_dataset_spec
from ptalker.data.synth.corpus import (
    DATASET_FILE,
    SynthConfig,
    generate_corpus,
    load_alignment,
    load_speakers,
    load_synth_config,
)
from ptalker.errors import PtalkerError
from ptalker.evaluation.corpus_checks import audio_timeline_lag, bilabial_gaps, check_corpus
from ptalker.flame.flame_model import FlameModel
from ptalker.flame.masks import head_face_sets
from ptalker.metrics.face_measures import lip_gap
from ptalker.metrics.lip_sync import CLOSED_GAP_M

TINY = TINY_CORPUS
"""2 training speakers (sentence01-04), 1 val and 1 test speaker (sentence03-04); sentences 01
and 03 are shared; S01 and S02 differ in the direction the pinned values say."""


def tiny_config() -> SynthConfig:
    return load_synth_config(None, TINY)


@pytest.fixture
def corpus(tiny_corpus):
    """The session's corpus of tiny_config() (12 sequences, 4 speakers); read-only."""
    return tiny_corpus


def digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- layout and splits ---------------------------------------------------------------------------


def test_layout(corpus, standin_model):
    names = [n.stem for n in list_sequences(corpus)]
    assert len(names) == 12
    for folder, suffix in (("wav", ".wav"), ("params_npy", ".npz"), ("align", ".json")):
        assert sorted(p.stem for p in (corpus / folder).glob(f"*{suffix}")) == names, folder
    templates = load_templates(corpus)
    assert sorted(templates) == ["S01", "S02", "S03", "S04"]
    assert not np.allclose(templates["S01"], templates["S02"]), "speakers should differ in face shape"
    speakers = load_speakers(corpus)
    assert [s.split for s in speakers.values()] == ["train", "train", "val", "test"]
    assert speakers["S01"].voice != speakers["S02"].voice
    assert speakers["S02"].style.lip_amplitude == 1.4, "pinned value not kept"
    for sequence in list_sequences(corpus):
        name = sequence.stem
        align = load_alignment(corpus, name)
        vertices = load_vertex_sequence(vertices_path(corpus, sequence))
        assert vertices.shape[1:] == (standin_model.num_vertices, 3)
        audio = load_audio(corpus / "wav" / f"{name}.wav")
        assert abs(len(audio) / AUDIO_SAMPLE_RATE_HZ - align.num_frames / align.fps) <= 0.5 / align.fps
        assert 2.0 <= align.speech.duration_s <= 6.0, f"{name}: {align.speech.duration_s:.2f} s"


def test_params_reproduce_vertices(corpus, standin_model):
    """The stored FLAME parameters are the ones the vertices were made from."""
    stem = "S02_sentence02"
    params = dict(np.load(corpus / "params_npy" / f"{stem}.npz"))
    assert params["expression"].shape[1] == len(standin_model.expression_names)
    assert float(params["fps"]) == 30.0
    with torch.no_grad():
        out = standin_model(**{k: torch.from_numpy(params[k]) for k in
                               ("shape", "expression", "jaw_pose", "neck_pose", "eye_pose")}).vertices
    stored = np.load(corpus / "vertices_npy" / f"{stem}.npy")
    assert stored.dtype == np.float32 and stored.ndim == 2
    assert_allclose(stored.reshape(out.shape), out, 1e-6, "vertices from params_npy")


def test_splits_follow_vocaset(corpus):
    spec = get_dataset_spec("custom", corpus / DATASET_FILE)
    assert spec.condition_subjects == ["S01", "S02"]
    sizes = {split: len(TalkingHeadDataset(corpus, spec, split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 8, "val": 2, "test": 2}
    test = TalkingHeadDataset(corpus, spec, "test")
    assert [n.stem for n in test.sequences] == ["S04_sentence03", "S04_sentence04"]
    texts = {n.stem: load_alignment(corpus, n.stem).text for n in list_sequences(corpus)}
    shared = {texts[f"S0{i}_sentence03"] for i in range(1, 5)}
    assert len(shared) == 1, "sentence03 should be one text for every speaker"
    assert len({texts["S01_sentence01"], texts["S02_sentence01"]}) == 1
    own = [texts[f"S0{i}_sentence04"] for i in range(1, 5)] + [texts["S01_sentence02"]]
    assert len(set(own)) == len(own), "unshared sentences should be different texts"


# --- determinism -------------------------------------------------------------------------------


def test_deterministic(corpus, tmp_path):
    again = tmp_path / "again"
    generate_corpus(again, tiny_config())
    first, second = digest(corpus), digest(again)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"files differ between two runs: {differing[:5]}"


def test_seed_changes_corpus(tmp_path):
    config = load_synth_config(None, TINY + ["seed=6", "speakers={train: 1}", "sentences=1",
                                             "heldout_from=1", "shared=0", "pinned={}"])
    generate_corpus(tmp_path / "other", config)
    config = load_synth_config(None, TINY + ["speakers={train: 1}", "sentences=1", "heldout_from=1",
                                             "shared=0", "pinned={}"])
    generate_corpus(tmp_path / "base", config)
    assert digest(tmp_path / "other") != digest(tmp_path / "base")


# --- motion quality --------------------------------------------------------------------------


def test_lip_seals_and_vowels(corpus):
    checks = check_corpus(corpus)
    assert checks.bilabials >= 20
    assert checks.sealed_fraction >= 0.9, checks.table()
    assert checks.open_vowel_gap_mm > 1.3 * checks.close_vowel_gap_mm, checks.table()


def test_bilabial_check_can_fail(corpus):
    """The seal measure is not trivially true: a mouth held open fails it."""
    align = load_alignment(corpus, "S01_sentence01")
    assert np.all(bilabial_gaps(np.full(align.num_frames, 5e-3), align.speech, align.fps) > CLOSED_GAP_M)


def test_styles_show_in_the_same_sentence(corpus):
    """S01 and S02 say the same sentence01; their measured style differs as pinned."""
    from ptalker.metrics.face_measures import style_statistics

    sets, templates = head_face_sets(), load_templates(corpus)
    stats = {}
    for sid in ("S01", "S02"):
        name = list_sequences(corpus)[0].__class__(sid, "sentence01")
        stats[sid] = style_statistics(load_vertex_sequence(vertices_path(corpus, name)), templates[sid],
                                      sets, 30.0)
    low, high = stats["S01"], stats["S02"]
    assert high.lip_motion_mm > low.lip_motion_mm
    assert high.jaw_opening_mm > low.jaw_opening_mm
    assert high.smile_mm > low.smile_mm
    assert high.head_motion_deg > low.head_motion_deg


# --- audio and motion share one clock ------------------------------------------------------------


def test_audio_shift_is_detected(corpus):
    """The wav files and the phoneme timelines share one clock; a 250 ms delay of the audio shows."""
    for name in list_sequences(corpus):
        speech = load_alignment(corpus, name.stem).speech
        audio = load_audio(wav_path(corpus, name))
        lag = audio_timeline_lag(audio, AUDIO_SAMPLE_RATE_HZ, speech)
        assert abs(lag) < 0.04, f"{name.stem}: timeline {lag:+.3f} s after the audio"
        delayed = np.concatenate([np.zeros(int(0.25 * AUDIO_SAMPLE_RATE_HZ), np.float32), audio])
        shifted = audio_timeline_lag(delayed, AUDIO_SAMPLE_RATE_HZ, speech)
        assert shifted == pytest.approx(lag - 0.25, abs=0.02), f"{name.stem}: 250 ms delay unseen"


def test_motion_shift_is_detected(corpus):
    """The motion follows the same timeline: moved 150 ms later, most lip seals miss /p b m/."""
    sets, templates = head_face_sets(), load_templates(corpus)
    sealed = {0.0: [], 0.15: []}
    for name in list_sequences(corpus):
        align = load_alignment(corpus, name.stem)
        gap = lip_gap(load_vertex_sequence(vertices_path(corpus, name)), sets, templates[name.subject])
        for shift_s in sealed:
            late = np.concatenate([np.full(int(shift_s * align.fps), gap[0]), gap])[:len(gap)]
            sealed[shift_s].append(bilabial_gaps(late, align.speech, align.fps) < CLOSED_GAP_M)
    rates = {shift: np.concatenate(values).mean() for shift, values in sealed.items()}
    assert rates[0.0] >= 0.9 and rates[0.15] < 0.6, rates


# --- errors and the command line -------------------------------------------------------------------


def test_refuses_non_empty_out(corpus):
    before = digest(corpus)
    with pytest.raises(PtalkerError, match="already exists"):
        generate_corpus(corpus, tiny_config())
    assert digest(corpus) == before


@pytest.mark.parametrize("overrides, match", [
    (["shared=9"], "shared"), (["heldout_from=0"], "heldout_from"), (["speakers={val: 2}"], "speakers"),
    (["pinned={S09: {lip_amplitude: 1}}"], "S09"), (["styles={lip_amplitude: [2, 1]}"], "lip_amplitude"),
    (["pinned={S01: {loudness: 2}}"], "loudness"), (["bogus=1"], "bogus"),
    (["voices={variants: [m3, f2]}"], "f2"), (["voices={variants: [m33]}"], "m33"),
])
def test_bad_config(tmp_path, overrides, match):
    with pytest.raises(PtalkerError, match=match):
        generate_corpus(tmp_path / "out", load_synth_config(None, TINY + overrides))
    assert not (tmp_path / "out").exists()


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["data", "synth", "--out", str(out), "--quiet", *TINY, "speakers={train: 1}", "sentences=1",
            "heldout_from=1", "shared=0", "pinned={}"]
    assert main(args) == 0
    assert "wrote 1 sequences" in capsys.readouterr().out
    assert json.loads((out / "corpus.json").read_text())["config"]["seed"] == 5
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err


def test_refuses_head_without_components(tmp_path, monkeypatch, standin_dir):
    model = FlameModel.load(standin_dir)
    monkeypatch.setattr(FlameModel, "load", classmethod(lambda cls, flame_dir=None: model))
    monkeypatch.setattr(model, "expression_names", [f"expression{i:03d}" for i in range(100)])
    with pytest.raises(PtalkerError, match="stand-in"):
        generate_corpus(tmp_path / "out", tiny_config())
