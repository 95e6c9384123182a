"""TalkingHeadDataset and collate_sequences on tiny layouts written in tmp_path."""

import os
import pickle

import numpy as np
import pytest
import soundfile
import torch
from torch.utils.data import DataLoader

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data import dataset as dataset_module
from ptalker.data.dataset import SequenceItem, TalkingHeadDataset, collate_sequences
from ptalker.data.layout import SequenceName, save_templates
from ptalker.data.splits import VOCASET, DatasetSpec, SplitSpec
from ptalker.errors import PtalkerError, UnsafePickleError
from ptalker.fileio import save_json

V = 5  # vertices of the tiny topology
SPEC = DatasetSpec(
    name="tiny", fps=15, fps_on_disk=30, num_vertices=None, condition_subjects=["alice", "bob"],
    splits={"train": SplitSpec(["alice", "bob"], ["s01", "s02", "s03"]),
            "test": SplitSpec(["carol"])},
)
# stem: (frames on disk at 30 fps, audio samples at 16 kHz)
SEQUENCES = {"alice_s01": (9, 4000), "alice_s02": (4, 1600), "bob_s01": (6, 2400),
             "carol_s01": (5, 2000)}


def _tone(samples: int, seed: int) -> np.ndarray:
    t = np.arange(samples) / AUDIO_SAMPLE_RATE_HZ
    return (0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t)).astype(np.float32)


def _frames(frames: int, seed: int) -> np.ndarray:
    """(T, V, 3) where vertex values encode frame t: easy to check subsampling."""
    base = np.arange(frames, dtype=np.float32)[:, None, None] + 0.01 * seed
    return np.broadcast_to(base, (frames, V, 3)) + np.linspace(0, 0.001, V * 3).reshape(1, V, 3)


def write_layout(root, sequences=SEQUENCES, fps_on_disk=None, num_vertices=V):
    """A standard layout; returns {stem: (vertices (T, V, 3), audio (S,))}."""
    data = {}
    for seed, (stem, (frames, samples)) in enumerate(sorted(sequences.items())):
        vertices = _frames(frames, seed).astype(np.float32)
        audio = _tone(samples, seed)
        (root / "vertices_npy").mkdir(parents=True, exist_ok=True)
        (root / "wav").mkdir(parents=True, exist_ok=True)
        np.save(root / "vertices_npy" / f"{stem}.npy", vertices.reshape(frames, -1))  # (T, V*3)
        soundfile.write(root / "wav" / f"{stem}.wav", audio, AUDIO_SAMPLE_RATE_HZ, subtype="FLOAT")
        data[stem] = (vertices, audio)
    subjects = {stem.rsplit("_", 1)[0] for stem in sequences}
    save_templates(root / "templates.pkl",
                   {s: np.full((num_vertices, 3), i, np.float32) for i, s in enumerate(sorted(subjects))})
    if fps_on_disk is not None:
        save_json(root / "layout.json", {"fps": fps_on_disk})
    return data


def test_items_subsample_frames_and_load_audio(tmp_path):
    data = write_layout(tmp_path)
    ds = TalkingHeadDataset(tmp_path, SPEC, "train")
    assert [n.stem for n in ds.sequences] == ["alice_s01", "alice_s02", "bob_s01"]
    item = ds[0]
    vertices, audio = data["alice_s01"]
    assert item.vertices.dtype == torch.float32 and item.vertices.shape == (5, V, 3)  # 9 -> 0,2,..,8
    np.testing.assert_array_equal(item.vertices.numpy(), vertices[::2])
    np.testing.assert_allclose(item.audio.numpy(), audio, atol=1e-6)
    assert item.template.shape == (V, 3) and item.style_index == 0
    assert ds[2].style_index == 1 and ds.fps == 15


def test_layout_json_sets_the_frame_rate_on_disk(tmp_path):
    data = write_layout(tmp_path, fps_on_disk=15)  # already at the model rate: keep every frame
    item = TalkingHeadDataset(tmp_path, SPEC, "train")[0]
    np.testing.assert_array_equal(item.vertices.numpy(), data["alice_s01"][0])


def test_vocaset_spec_at_30_fps_on_disk_keeps_every_frame(tmp_path):
    spec = DatasetSpec(**{**VOCASET.__dict__, "num_vertices": None,
                          "splits": {"train": SplitSpec(["alice"])}})
    data = write_layout(tmp_path, {"alice_s01": (6, 1600)}, fps_on_disk=30)
    assert TalkingHeadDataset(tmp_path, spec, "train")[0].vertices.shape[0] == 6
    (tmp_path / "layout.json").unlink()  # no layout.json: the spec's 60 fps on disk
    item = TalkingHeadDataset(tmp_path, spec, "train")[0]
    np.testing.assert_array_equal(item.vertices.numpy(), data["alice_s01"][0][::2])


def test_dataloader_batch_of_three_pads_and_masks(tmp_path):
    write_layout(tmp_path)
    ds = TalkingHeadDataset(tmp_path, SPEC, "train")
    batch = next(iter(DataLoader(ds, batch_size=3, shuffle=False, collate_fn=collate_sequences)))
    items = [ds[i] for i in range(3)]
    frames, samples = [5, 2, 3], [4000, 1600, 2400]  # 9, 4, 6 frames on disk at step 2
    assert batch.vertices.shape == (3, 5, V, 3) and batch.frame_mask.shape == (3, 5)
    assert batch.audio.shape == (3, 4000) and batch.audio_mask.shape == (3, 4000)
    assert batch.template.shape == (3, V, 3) and batch.style_index.dtype == torch.long
    assert batch.num_frames.tolist() == frames and batch.num_samples.tolist() == samples
    assert batch.style_index.tolist() == [0, 0, 1]
    assert [n.stem for n in batch.names] == ["alice_s01", "alice_s02", "bob_s01"]
    for row, item in enumerate(items):
        t, s = frames[row], samples[row]
        assert batch.frame_mask[row, :t].all() and not batch.frame_mask[row, t:].any()
        assert batch.audio_mask[row, :s].all() and not batch.audio_mask[row, s:].any()
        torch.testing.assert_close(batch.vertices[row, :t], item.vertices)
        torch.testing.assert_close(batch.audio[row, :s], item.audio)
        assert torch.count_nonzero(batch.vertices[row, t:]) == 0
        assert torch.count_nonzero(batch.audio[row, s:]) == 0
        torch.testing.assert_close(batch.template[row], item.template)
    assert batch.to("cpu").vertices.shape == batch.vertices.shape


def test_style_subjects_override_and_unknown_subjects(tmp_path):
    write_layout(tmp_path)
    ds = TalkingHeadDataset(tmp_path, SPEC, "test")
    assert ds[0].style_index == -1
    ds = TalkingHeadDataset(tmp_path, SPEC, "train", subjects_for_style=["bob"])
    assert [ds[i].style_index for i in range(3)] == [-1, -1, 0]


def test_missing_sequences_are_skipped_and_counted(tmp_path):
    write_layout(tmp_path)
    (tmp_path / "wav" / "alice_s02.wav").unlink()
    ds = TalkingHeadDataset(tmp_path, SPEC, "train")
    assert len(ds) == 2
    assert ds.num_missing == 4  # alice_s02 (no wav), alice_s03, bob_s02, bob_s03
    assert SequenceName("alice", "s02") in ds.missing


def test_empty_split_names_root_split_and_what_was_looked_for(tmp_path):
    write_layout(tmp_path, {"carol_s01": (3, 1600)})
    with pytest.raises(PtalkerError) as err:
        TalkingHeadDataset(tmp_path, SPEC, "train")
    message = str(err.value)
    assert str(tmp_path) in message and "'train'" in message and "alice, bob" in message
    assert "vertices_npy" in message and "\n" not in message


def test_unknown_split_and_missing_folder(tmp_path):
    write_layout(tmp_path)
    with pytest.raises(PtalkerError, match="no split 'dev'"):
        TalkingHeadDataset(tmp_path, SPEC, "dev")
    with pytest.raises(PtalkerError, match="vertices_npy"):
        TalkingHeadDataset(tmp_path / "nowhere", SPEC, "train")


def test_init_reads_no_sequence_files(tmp_path, monkeypatch):
    write_layout(tmp_path)
    calls = []
    monkeypatch.setattr(dataset_module, "load_audio", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(dataset_module, "load_vertex_sequence", lambda *a, **k: calls.append(a))
    TalkingHeadDataset(tmp_path, SPEC, "train")
    assert calls == []


def test_vertex_count_mismatch_names_the_file(tmp_path):
    write_layout(tmp_path)
    np.save(tmp_path / "vertices_npy" / "alice_s01.npy", np.zeros((4, 7 * 3), np.float32))
    ds = TalkingHeadDataset(tmp_path, SPEC, "train")
    with pytest.raises(PtalkerError, match=r"alice_s01\.npy.*7 vertices.*template has 5"):
        ds[0]


def test_template_count_checked_against_spec(tmp_path):
    write_layout(tmp_path)
    spec = DatasetSpec(**{**SPEC.__dict__, "num_vertices": 6})
    with pytest.raises(PtalkerError, match=r"templates\.pkl.*5 vertices.*expects 6"):
        TalkingHeadDataset(tmp_path, spec, "train")


def test_subject_without_template(tmp_path):
    write_layout(tmp_path)
    save_templates(tmp_path / "templates.pkl", {"alice": np.zeros((V, 3), np.float32)})
    with pytest.raises(PtalkerError, match=r"templates\.pkl.*no template for subject 'bob'"):
        TalkingHeadDataset(tmp_path, SPEC, "train")


def test_corrupted_npy_names_the_file(tmp_path):
    write_layout(tmp_path)
    path = tmp_path / "vertices_npy" / "alice_s01.npy"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(PtalkerError, match=r"alice_s01\.npy"):
        TalkingHeadDataset(tmp_path, SPEC, "train")[0]


def test_corrupted_wav_names_the_file(tmp_path):
    write_layout(tmp_path)
    (tmp_path / "wav" / "alice_s01.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(PtalkerError, match=r"alice_s01\.wav"):
        TalkingHeadDataset(tmp_path, SPEC, "train")[0]


def test_corrupted_templates_names_the_file(tmp_path):
    write_layout(tmp_path)
    path = tmp_path / "templates.pkl"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(PtalkerError, match=r"templates\.pkl"):
        TalkingHeadDataset(tmp_path, SPEC, "train")


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_templates_are_refused_without_running_code(tmp_path):
    write_layout(tmp_path)
    exploit = _Exploit()
    exploit.marker = tmp_path / "pwned"
    (tmp_path / "templates.pkl").write_bytes(pickle.dumps({"alice": exploit}))
    with pytest.raises(UnsafePickleError, match=r"templates\.pkl.*refused"):
        TalkingHeadDataset(tmp_path, SPEC, "train")
    assert not exploit.marker.exists()


def test_collate_rejects_mixed_topologies_and_empty_batches():
    def item(v):
        return SequenceItem(SequenceName("a", "s"), torch.zeros(10), torch.zeros(2, v, 3),
                            torch.zeros(v, 3))
    with pytest.raises(PtalkerError, match="different vertex counts"):
        collate_sequences([item(3), item(4)])
    with pytest.raises(PtalkerError, match="no items"):
        collate_sequences([])
