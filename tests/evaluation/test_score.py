"""score_folder and `ptalker score` against an independent copy of the field's metric script."""

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.evaluation.score import DEFINITIONS, score_folder
from ptalker.flame.flame_dir import ENV_VAR as FLAME_DIR_ENV

RTOL = 1e-9  # against the field script run in float64
RTOL_FLOAT32 = 1e-3  # the field script in float32, as it runs on float32 files: signed FDD cancels
NUM_VERTICES = 12
LIPS = [1, 2, 3, 5]
UPPER = [0, 7, 8, 9, 7]  # a duplicate: the field's list comprehension counts it twice
SPEC_YAML = """\
name: fake
fps: 30
fps_on_disk: 30
num_vertices: null
regions: index_files
condition_subjects: [alice, bob]
splits:
  train: {subjects: [alice, bob], sentences: [s01, s02, s03]}
  test: {subjects: [carol, dave], sentences: [s01, s02]}
"""
GT_FRAMES = {"alice_s01": 6, "carol_s01": 6, "carol_s02": 7, "dave_s01": 5, "dave_s03": 4}
PREDICTIONS = {  # file stem -> frames
    "carol_s01_condition_alice": 6,
    "carol_s01_condition_bob": 8,  # 2 frames past the ground truth: cut
    "carol_s02_condition_alice": 5,  # 2 frames short: ground truth cut
    "carol_s02_condition_bob": 7,
    "dave_s01_condition_alice": 5,
    "dave_s01_condition_bob": 5,
    "dave_s03_condition_alice": 4,  # sentence outside the split: ignored
    "alice_s01_condition_alice": 6,  # training subject: ignored
    "junk": 3,  # not <SUBJECT>_<SENTENCE>: ignored
}
SCORED = sorted(stem for stem in PREDICTIONS if stem.startswith(("carol", "dave_s01")))


def field_script(pred_dir, gt_dir, templates, names, lips, upper, num_vertices, frame_step=1,
                 dtype=np.float64):
    """The field's metric script (CodeTalker cal_metric.py, FaceDiffuser's cut and MVE),
    written in its per-vertex list-comprehension style over file names. The field runs it in
    the files' dtype (float32); ``dtype`` lets the test run it in float64 too."""
    load = lambda path: np.load(path).astype(dtype)  # noqa: E731
    templates = {subject: mesh.astype(dtype) for subject, mesh in templates.items()}
    vertices_gt_all, vertices_pred_all, motion_std_difference = [], [], []
    for name in names:
        stem = name.split("_condition_")[0]
        subject = stem.rsplit("_", 1)[0]
        vertices_gt = load(Path(gt_dir) / f"{stem}.npy").reshape(-1, num_vertices, 3)[::frame_step]
        vertices_pred = load(Path(pred_dir) / f"{name}.npy").reshape(-1, num_vertices, 3)
        vertices_pred = vertices_pred[:vertices_gt.shape[0], :, :]
        vertices_gt = vertices_gt[:vertices_pred.shape[0], :, :]
        motion_pred = vertices_pred - templates[subject].reshape(1, num_vertices, 3)
        motion_gt = vertices_gt - templates[subject].reshape(1, num_vertices, 3)
        vertices_gt_all.extend(list(vertices_gt))
        vertices_pred_all.extend(list(vertices_pred))
        stds = []
        for motion in (motion_gt, motion_pred):
            l2_upper = np.array([np.square(motion[:, v, :]) for v in upper])
            l2_upper = np.sum(np.transpose(l2_upper, (1, 0, 2)), axis=2)
            stds.append(np.mean(np.std(l2_upper, axis=0)))
        motion_std_difference.append(stds[0] - stds[1])
    gt_all, pred_all = np.array(vertices_gt_all), np.array(vertices_pred_all)
    mouth = np.array([np.square(gt_all[:, v, :] - pred_all[:, v, :]) for v in lips])
    mouth_max = np.max(np.sum(np.transpose(mouth, (1, 0, 2)), axis=2), axis=1)
    return {"lve": np.mean(mouth_max), "lve_max_dist": np.mean(np.sqrt(mouth_max)),
            "fdd": sum(motion_std_difference) / len(motion_std_difference),
            "fdd_abs": sum(abs(d) for d in motion_std_difference) / len(motion_std_difference),
            "mve": np.mean(np.linalg.norm(gt_all - pred_all, axis=2)), "frames": len(gt_all)}


def assert_matches(actual: dict, expected: dict, keys=("lve", "lve_max_dist", "fdd", "fdd_abs", "mve"),
                   rtol=RTOL):
    for key in keys:
        assert actual[key] == pytest.approx(float(expected[key]), rel=rtol), \
            f"{key}: {actual[key]!r} != field script {expected[key]!r}"


def write_templates(root, subjects, num_vertices, rng):
    templates = {s: rng.normal(size=(num_vertices, 3)).astype(np.float32) for s in subjects}
    (root / "templates.pkl").write_bytes(pickle.dumps(templates, protocol=2))
    return templates


def write_sequences(folder, frames_by_stem, num_vertices, rng, scale=0.01):
    folder.mkdir(parents=True, exist_ok=True)
    for i, (stem, frames) in enumerate(frames_by_stem.items()):
        array = (scale * rng.normal(size=(frames, num_vertices, 3))).astype(np.float32)
        np.save(folder / f"{stem}.npy", array.reshape(frames, -1) if i % 2 else array)


@pytest.fixture
def fake_set(tmp_path, monkeypatch):
    monkeypatch.delenv(FLAME_DIR_ENV, raising=False)
    rng = np.random.default_rng(1)
    root, pred = tmp_path / "data", tmp_path / "pred"
    root.mkdir()
    templates = write_templates(root, ["alice", "bob", "carol", "dave"], NUM_VERTICES, rng)
    write_sequences(root / "vertices_npy", GT_FRAMES, NUM_VERTICES, rng)
    (root / "regions").mkdir()
    (root / "regions" / "lve.txt").write_text(", ".join(map(str, LIPS)))
    (root / "regions" / "fdd.txt").write_text(", ".join(map(str, UPPER)))
    write_sequences(pred, PREDICTIONS, NUM_VERTICES, rng)
    (pred / "notes.txt").write_text("not a prediction")
    config = tmp_path / "fake.yaml"
    config.write_text(SPEC_YAML)
    return root, pred, config, templates


def test_score_matches_field_script(fake_set):
    root, pred, config, templates = fake_set
    report = score_folder(pred, root, dataset="custom", split="test", config=config)
    expected = field_script(pred, root / "vertices_npy", templates, SCORED, LIPS, UPPER, NUM_VERTICES)
    assert_matches(report.to_dict(), expected)
    as_float32 = field_script(pred, root / "vertices_npy", templates, SCORED, LIPS, UPPER,
                              NUM_VERTICES, dtype=np.float32)
    assert_matches(report.to_dict(), as_float32, rtol=RTOL_FLOAT32)
    counts = report.counts
    assert (counts.sequences, counts.frames, counts.predictions_ignored) == (6, expected["frames"], 3)
    assert (counts.gt_frames_dropped, counts.pred_frames_cut) == (2, 2)
    assert report.ignored == ["alice_s01_condition_alice.npy", "dave_s03_condition_alice.npy",
                              "junk.npy"]
    assert report.lve_sqrt_mm is None and report.mve_mm is None  # no real unit for this data set
    assert report.protocol["conditioning"] == "all train subjects (2 per sequence, pooled)"
    assert report.protocol["lips"]["count"] == 4 and report.protocol["upper_face"]["count"] == 5
    for row in report.sequences:  # each row is the field script on that prediction alone
        alone = field_script(pred, root / "vertices_npy", templates, [row.name], LIPS, UPPER,
                             NUM_VERTICES)
        assert_matches(row.__dict__, alone, keys=("lve", "lve_max_dist", "fdd", "mve"))
        assert row.frames == alone["frames"]
    assert [row.name for row in report.sequences] == SCORED


def test_json_and_table(fake_set, tmp_path):
    root, pred, config, _ = fake_set
    report = score_folder(pred, root, config=config)
    out = tmp_path / "out" / "scores.json"
    report.save_json(out)
    data = json.loads(out.read_text())
    for key in ("lve", "fdd", "mve", "lve_max_dist", "lve_max_dist_mm", "lve_sqrt_mm", "fdd_abs",
                "mve_mm", "units", "definitions", "counts", "protocol", "sequences"):
        assert key in data, key
    assert data["lve"] == report.lve and data["lve_sqrt_mm"] is None
    assert set(data["units"]) == set(DEFINITIONS) == set(data["definitions"])
    assert data["units"]["lve"] == "(data unit)^2"
    assert len(data["sequences"]) == 6 and data["sequences"][1]["condition"] == "bob"
    table = report.table()
    assert "LVE (field)" in table and "conditioning: all train subjects" in table
    assert "ignored 3 .npy file(s)" in table


def test_cli_score(fake_set, tmp_path, capsys):
    root, pred, config, templates = fake_set
    out = tmp_path / "cli.json"
    status = main(["score", "--pred", str(pred), "--data", str(root), "--config", str(config),
                   "--json", str(out)])
    assert status == 0
    assert f"wrote {out}" in capsys.readouterr().out
    expected = field_script(pred, root / "vertices_npy", templates, SCORED, LIPS, UPPER, NUM_VERTICES)
    assert_matches(json.loads(out.read_text()), expected)


def test_cli_subprocess_missing_folder(fake_set, tmp_path):
    root, _, config, _ = fake_set
    result = subprocess.run([sys.executable, "-m", "ptalker", "score", "--pred", str(tmp_path / "nope"),
                             "--data", str(root), "--config", str(config)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "nope: folder not found; pass an existing folder as --pred" in result.stderr


def test_no_predictions_of_split(fake_set, tmp_path):
    root, _, config, _ = fake_set
    empty = tmp_path / "empty"
    empty.mkdir()
    np.save(empty / "alice_s01.npy", np.zeros((2, NUM_VERTICES, 3)))
    with pytest.raises(PtalkerError, match=r"empty: no prediction of split 'test'.*1 .npy.*"
                                           r"<SUBJECT>_<SENTENCE>_condition_<TRAIN SUBJECT>.npy"):
        score_folder(empty, root, config=config)


def test_region_resolution(fake_set, tmp_path):
    root, pred, config, _ = fake_set
    masks = {"lips": np.array([4]), "forehead": np.array([0, 1]), "eye_region": np.array([1, 2])}
    (tmp_path / "FLAME_masks.pkl").write_bytes(pickle.dumps(masks))
    report = score_folder(pred, root, config=config, masks=tmp_path / "FLAME_masks.pkl")
    assert report.protocol["lips"]["source"].startswith("FLAME_masks.pkl")
    assert report.protocol["upper_face"]["count"] == 3
    with pytest.raises(PtalkerError, match="not both"):
        score_folder(pred, root, config=config, masks=tmp_path / "FLAME_masks.pkl",
                     regions=root / "regions")
    for name in ("lve.txt", "fdd.txt"):
        (root / "regions" / name).unlink()
    with pytest.raises(PtalkerError, match=r"looked for .*regions/lve.txt, .*regions/fdd.txt, "
                                           r".*FLAME_masks.pkl \(the head model's masks\).*pass --regions .* or --masks"):
        score_folder(pred, root, config=config)
    (root / "regions" / "lve.txt").write_text("1, 99")
    (root / "regions" / "fdd.txt").write_text("1")
    with pytest.raises(PtalkerError, match="99 but .*templates.pkl has 12 vertices"):
        score_folder(pred, root, config=config)


def test_own_identity_conditioning(fake_set, tmp_path):
    root, _, config, _ = fake_set
    pred = tmp_path / "own"
    write_sequences(pred, {"carol_s01_condition_carol": 6, "dave_s01_condition_dave": 5},
                    NUM_VERTICES, np.random.default_rng(3))
    report = score_folder(pred, root, config=config)
    assert report.protocol["conditioning"] == "own identity (condition = subject)"


VOCA_TEST = ["FaceTalk_170809_00138_TA", "FaceTalk_170731_00024_TA"]
VOCA_TRAIN = ["FaceTalk_170728_03272_TA", "FaceTalk_170904_00128_TA"]
FLAME_VERTICES = 5023


def test_vocaset_60fps_ground_truth(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(FLAME_DIR_ENV, raising=False)
    rng = np.random.default_rng(2)
    root, pred = tmp_path / "vocaset", tmp_path / "pred"
    root.mkdir()
    templates = write_templates(root, VOCA_TEST + VOCA_TRAIN, FLAME_VERTICES, rng)
    gt_frames = {f"{VOCA_TEST[0]}_sentence21": 10, f"{VOCA_TEST[1]}_sentence40": 9}  # 60 fps
    write_sequences(root / "vertices_npy", gt_frames, FLAME_VERTICES, rng)
    preds = {f"{stem}_condition_{train}": 5 for stem in gt_frames for train in VOCA_TRAIN}  # 30 fps
    write_sequences(pred, preds, FLAME_VERTICES, rng)
    np.save(pred / f"{VOCA_TRAIN[0]}_sentence01.npy", np.zeros((3, FLAME_VERTICES, 3)))  # train: ignored
    lips, forehead, eyes = np.arange(3900, 3960), np.arange(0, 40), np.arange(30, 70)
    masks = {"lips": lips, "forehead": forehead, "eye_region": eyes, "face": np.arange(3000)}
    (root / "FLAME_masks.pkl").write_bytes(pickle.dumps(masks, protocol=2))
    out = tmp_path / "voca.json"
    assert main(["score", "--pred", str(pred), "--data", str(root), "--dataset", "vocaset",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    names = sorted(preds)
    upper = np.unique(np.concatenate([forehead, eyes]))
    expected = field_script(pred, root / "vertices_npy", templates, names, lips, upper,
                            FLAME_VERTICES, frame_step=2)
    assert_matches(data, expected)
    assert data["counts"]["frames"] == 4 * 5 == expected["frames"]
    assert data["counts"]["predictions_ignored"] == 1
    assert data["counts"]["gt_frames_dropped"] == 0  # 9 frames at 60 fps -> 5 at 30 fps
    assert data["lve_sqrt_mm"] == pytest.approx(math.sqrt(data["lve"]) * 1000, rel=1e-12)
    assert data["mve_mm"] == pytest.approx(data["mve"] * 1000, rel=1e-12)
    assert data["units"]["lve"] == "m^2" and data["units"]["lve_sqrt_mm"] == "mm"
    protocol = data["protocol"]
    assert (protocol["fps"], protocol["gt_frame_step"], protocol["dataset"]) == (30, 2, "vocaset")
    assert "forehead+eye_region" in protocol["upper_face"]["source"]
    assert protocol["upper_face"]["count"] == 70
    mixed = ", ".join(f"{subject} x2" for subject in sorted(VOCA_TRAIN))
    assert protocol["conditioning"] == f"mixed, pooled: {mixed}"
    print(capsys.readouterr().out)
