"""convert_vocaset on a tiny fake raw download (V = 6 vertices) written in tmp_path."""

import dataclasses
import json
import os
import pickle

import numpy as np
import pytest
import soundfile
import torch

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.layout import ConversionReport, load_templates, load_vertex_sequence
from ptalker.data.splits import VOCASET
from ptalker.data.vocaset import convert_vocaset
from ptalker.errors import PtalkerError, UnsafePickleError

V = 6
RATE_HZ = 22000
TRAIN = "FaceTalk_170728_03272_TA"  # VOCASET training subjects: the real split applies
OTHER = "FaceTalk_170904_00128_TA"
# (subject, sentence): frames captured at 60 fps
CAPTURED = {(TRAIN, "sentence01"): 9, (TRAIN, "sentence02"): 6, (OTHER, "sentence01"): 7}


def write_raw(raw, extra_audio=True):
    """Fake raw files; returns {(subject, sentence): (frames (T, V, 3) in frame order, audio)}."""
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    total = sum(CAPTURED.values())
    verts = rng.normal(size=(total, V, 3))  # float64 on disk, like the download
    order = rng.permutation(total)  # sequences scattered over the rows
    index, audio, expected, start = {}, {}, {}, 0
    for seed, ((subject, sentence), frames) in enumerate(sorted(CAPTURED.items())):
        rows = order[start:start + frames]
        start += frames
        numbers = list(range(1, frames + 1))[::-1]  # dict insertion order != frame order
        index.setdefault(subject, {})[sentence] = {n: int(rows[n - 1]) for n in numbers}
        samples = (8000 * np.sin(np.arange(RATE_HZ // 5) * (0.05 + 0.01 * seed))).astype(np.int16)
        audio.setdefault(subject, {})[sentence] = {"audio": samples, "sample_rate": RATE_HZ}
        expected[(subject, sentence)] = (verts[rows].astype(np.float32), samples)
    index[OTHER]["sentence05"] = {1: 0, 2: 1}  # frames but no audio: skipped
    if extra_audio:
        audio[OTHER]["sentence09"] = {"audio": np.ones(100, np.float32) * 0.1, "sample_rate": RATE_HZ}
    np.save(raw / "data_verts.npy", verts)
    (raw / "raw_audio_fixed.pkl").write_bytes(pickle.dumps(audio, protocol=2))
    (raw / "subj_seq_to_idx.pkl").write_bytes(pickle.dumps(index, protocol=2))
    templates = {TRAIN: rng.normal(size=(V, 3)), OTHER: rng.normal(size=(V, 3))}
    (raw / "templates.pkl").write_bytes(pickle.dumps(templates, protocol=2))
    return expected, templates


@pytest.mark.parametrize("fps, step", [(60, 1), (30, 2)])
def test_writes_layout_in_frame_order(tmp_path, fps, step):
    expected, templates = write_raw(tmp_path / "raw")
    out = tmp_path / "out"
    report = convert_vocaset(tmp_path / "raw", out, fps=fps)
    assert isinstance(report, ConversionReport) and len(report.written) == 3
    for (subject, sentence), (frames, samples) in expected.items():
        stem = f"{subject}_{sentence}"
        stored = np.load(out / "vertices_npy" / f"{stem}.npy")
        assert stored.dtype == np.float32 and stored.shape == (len(frames[::step]), V * 3)
        np.testing.assert_array_equal(stored.reshape(-1, V, 3), frames[::step])
        wav, rate = soundfile.read(out / "wav" / f"{stem}.wav", dtype="int16")
        assert rate == RATE_HZ and soundfile.info(out / "wav" / f"{stem}.wav").subtype == "PCM_16"
        np.testing.assert_array_equal(wav, samples)
    assert report.frames == sum(len(f[::step]) for f, _ in expected.values())
    assert report.seconds == pytest.approx(3 * (RATE_HZ // 5) / RATE_HZ)
    assert json.loads((out / "layout.json").read_text()) == {"fps": fps}
    written = load_templates(out)
    for subject, mesh in templates.items():
        np.testing.assert_allclose(written[subject], mesh.astype(np.float32))


def test_frame_counts_60_vs_30(tmp_path):
    write_raw(tmp_path / "raw")
    convert_vocaset(tmp_path / "raw", tmp_path / "o60", fps=60)
    convert_vocaset(tmp_path / "raw", tmp_path / "o30", fps=30)
    stem = f"{TRAIN}_sentence01"
    assert load_vertex_sequence(tmp_path / "o60" / "vertices_npy" / f"{stem}.npy").shape[0] == 9
    assert load_vertex_sequence(tmp_path / "o30" / "vertices_npy" / f"{stem}.npy").shape[0] == 5


def test_report_lists_skipped_sequences(tmp_path):
    write_raw(tmp_path / "raw")
    report = convert_vocaset(tmp_path / "raw", tmp_path / "out")
    skipped = dict(report.skipped)
    assert "no audio" in skipped[f"{OTHER}_sentence05"]
    assert "no frames" in skipped[f"{OTHER}_sentence09"]
    text = str(report)
    assert "wrote 3 sequences" in text and "skipped 2" in text and "30 fps" in text
    assert "s of audio" in text and f"{OTHER}_sentence05" in text


def test_outputs_reload_through_the_dataset_at_either_rate(tmp_path):
    expected, _ = write_raw(tmp_path / "raw")
    spec = dataclasses.replace(VOCASET, num_vertices=None)  # tiny topology, real splits
    convert_vocaset(tmp_path / "raw", tmp_path / "o60", fps=60)
    convert_vocaset(tmp_path / "raw", tmp_path / "o30", fps=30)
    ds60 = TalkingHeadDataset(tmp_path / "o60", spec, "train")
    ds30 = TalkingHeadDataset(tmp_path / "o30", spec, "train")
    assert len(ds60) == len(ds30) == 3 and ds60.spec.frame_step == 2 and ds30.spec.frame_step == 1
    for a, b in zip(ds60, ds30):
        assert a.name == b.name
        torch.testing.assert_close(a.vertices, b.vertices)
        torch.testing.assert_close(a.audio, b.audio)  # resampled 22 kHz -> 16 kHz
        assert a.audio.shape[0] == (RATE_HZ // 5) * 16000 // RATE_HZ
    first = ds30[0]
    np.testing.assert_array_equal(first.vertices.numpy(), expected[(first.name.subject,
                                                                   first.name.sentence)][0][::2])


def test_overwrite_is_refused_and_keeps_the_original_bytes(tmp_path):
    write_raw(tmp_path / "raw")
    out = tmp_path / "out"
    convert_vocaset(tmp_path / "raw", out)
    target = out / "vertices_npy" / f"{TRAIN}_sentence01.npy"
    target.write_bytes(b"my own edits")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(PtalkerError, match="--overwrite"):
        convert_vocaset(tmp_path / "raw", out, fps=60)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    convert_vocaset(tmp_path / "raw", out, fps=60, overwrite=True)
    assert load_vertex_sequence(target).shape[0] == 9


@pytest.mark.parametrize("missing", ["data_verts.npy", "raw_audio_fixed.pkl",
                                     "subj_seq_to_idx.pkl", "templates.pkl"])
def test_missing_raw_file_is_a_one_line_error(tmp_path, missing):
    write_raw(tmp_path / "raw")
    (tmp_path / "raw" / missing).unlink()
    with pytest.raises(PtalkerError) as err:
        convert_vocaset(tmp_path / "raw", tmp_path / "out")
    message = str(err.value)
    assert missing in message and "data_verts.npy, raw_audio_fixed.pkl" in message
    assert "\n" not in message and not (tmp_path / "out").exists()


def test_corrupted_data_verts_names_the_file(tmp_path):
    write_raw(tmp_path / "raw")
    path = tmp_path / "raw" / "data_verts.npy"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(PtalkerError, match=r"data_verts\.npy"):
        convert_vocaset(tmp_path / "raw", tmp_path / "out")


def test_corrupted_raw_templates_names_the_file(tmp_path):
    write_raw(tmp_path / "raw")
    path = tmp_path / "raw" / "templates.pkl"
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(PtalkerError, match=r"templates\.pkl"):
        convert_vocaset(tmp_path / "raw", tmp_path / "out")


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_raw_pickle_is_refused(tmp_path):
    write_raw(tmp_path / "raw")
    exploit = _Exploit()
    exploit.marker = tmp_path / "pwned"
    (tmp_path / "raw" / "subj_seq_to_idx.pkl").write_bytes(pickle.dumps({"x": exploit}))
    with pytest.raises(UnsafePickleError, match=r"subj_seq_to_idx\.pkl"):
        convert_vocaset(tmp_path / "raw", tmp_path / "out")
    assert not exploit.marker.exists() and not (tmp_path / "out").exists()


def test_template_vertex_count_must_match_the_meshes(tmp_path):
    write_raw(tmp_path / "raw")
    bad = {TRAIN: np.zeros((V + 1, 3))}
    (tmp_path / "raw" / "templates.pkl").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(PtalkerError, match=rf"templates\.pkl.*\({V + 1}, 3\).*\({V}, 3\)"):
        convert_vocaset(tmp_path / "raw", tmp_path / "out")


def test_unsupported_fps(tmp_path):
    with pytest.raises(PtalkerError, match="--fps 60 or --fps 30"):
        convert_vocaset(tmp_path, tmp_path / "out", fps=25)
