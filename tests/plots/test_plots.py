"""Plots: the data they draw (on tiny meshes and logs with known answers), valid PNGs, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_allclose
from scipy.spatial.transform import Rotation

from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import FaceSets
from ptalker.plots import (
    Span,
    lip_opening_data,
    lve_table,
    phoneme_spans,
    plot_lip_opening,
    plot_lve_bars,
    plot_training_curves,
    read_training_log,
    word_spans,
)
from ptalker.plots.training_curves import moving_average

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FPS = 30.0
MM = 1e-3
FRAMES = 45
NUM_VERTICES = 13
FLOAT32_MM = 1e-5
"""Vertices are read as float32: ~4 nm steps at 5 cm from the origin."""


def tiny_sets() -> FaceSets:
    """Lips 0-1 over 2-3, lids 4/6 and 5/7, corners 8-9, rigid 10-12 (not on a line)."""
    return FaceSets(lip_upper=np.array([0, 1]), lip_lower=np.array([2, 3]),
                    lid_upper=(np.array([4]), np.array([5])), lid_lower=(np.array([6]), np.array([7])),
                    mouth_corners=np.array([8, 9]), rigid=np.array([10, 11, 12]),
                    lips=np.array([0, 1, 2, 3]), brows=np.array([4]), source="tiny")


def tiny_template() -> np.ndarray:
    """(V, 3) a made-up head in metres: lips closed at y = 0."""
    rng = np.random.default_rng(0)
    template = rng.uniform(-0.05, 0.05, size=(NUM_VERTICES, 3))
    template[:4, 1] = 0.0
    template[10:] = [[0.0, 0.1, -0.05], [0.06, 0.08, -0.06], [-0.06, 0.09, -0.02]]
    return template


def tiny_sequence(gap_m: np.ndarray) -> np.ndarray:
    """(T, V, 3) the template with the upper lip gap/2 up and the lower gap/2 down."""
    vertices = np.repeat(tiny_template()[None], gap_m.size, axis=0)
    vertices[:, :2, 1] += gap_m[:, None] / 2
    vertices[:, 2:4, 1] -= gap_m[:, None] / 2
    return vertices


def known_gap_m(frames: int = FRAMES) -> np.ndarray:
    """(T,) 4 mm open, closed (0) over frames 5-8 (around 0.2 s), 3 mm from frame 30 on."""
    gap = np.full(frames, 4.0 * MM)
    gap[5:9] = 0.0
    gap[30:] = 3.0 * MM
    return gap


PHONEMES = [("_", 0.0, 0.1), ("m", 0.2, 0.28), ("a", 0.28, 0.9), ("p", 1.2, 1.3), ("_", 1.3, 1.5)]
WORDS = [("ma", 0.2, 0.9), ("p", 1.2, 1.3)]


def assert_png(path: Path) -> None:
    """A PNG that decodes to a picture with something drawn on it."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    pixels = imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 100, f"{path}: image shape {pixels.shape}"
    assert pixels[..., :3].std() > 0.05, f"{path}: blank image (pixel std {pixels[..., :3].std():.4f})"


# --- lip opening -------------------------------------------------------------------------------

def test_lip_opening_data_is_the_gap_in_mm_with_bilabial_seals():
    gap = known_gap_m()
    truth_gap = np.zeros(FRAMES + 5)
    data = lip_opening_data(tiny_sequence(gap), tiny_sets(), FPS, truth=tiny_sequence(truth_gap),
                            phonemes=PHONEMES)
    assert_allclose(data.pred_mm, gap / MM, atol=FLOAT32_MM)
    assert_allclose(data.truth_mm, truth_gap, atol=FLOAT32_MM)
    assert_allclose(data.times_s(data.truth_mm), np.arange(FRAMES + 5) / FPS, atol=1e-12)
    assert data.bilabials == [Span("m", 0.2, 0.28), Span("p", 1.2, 1.3)]
    # /m/: the closure at frames 5-8 (0.17-0.27 s) lies in its window; /p/ (frames 36-39): 3 mm
    assert_allclose(data.seal_gaps_mm(data.pred_mm), [0.0, 3.0], atol=FLOAT32_MM)
    assert_allclose(data.seal_gaps_mm(data.truth_mm), [0.0, 0.0], atol=FLOAT32_MM)
    assert data.duration_s == pytest.approx((FRAMES + 4) / FPS)  # the last truth frame, after the timeline


def test_lip_opening_data_removes_head_motion_given_the_template():
    gap = known_gap_m()
    turn = Rotation.from_rotvec(np.linspace(0, 0.3, FRAMES)[:, None] * [1.0, 0.4, 0.2]).as_matrix()
    moving = np.einsum("tij,tvj->tvi", turn, tiny_sequence(gap)) + [0.01, -0.02, 0.03]  # (T, V, 3)
    data = lip_opening_data(moving.reshape(FRAMES, -1), tiny_sets(), FPS, template=tiny_template())
    assert_allclose(data.pred_mm, gap / MM, atol=FLOAT32_MM)
    assert data.truth_mm is None and data.bilabials == []


def test_arpabet_bilabials_and_alignment_spans():
    from ptalker.audio.timeline import Speech
    from ptalker.data.synth.corpus import Alignment

    speech = Speech.from_json({"phonemes": [{"symbol": "m", "stress": 0, "start_s": 0.0, "end_s": 0.1,
                                             "word": 0}],
                               "words": [{"text": "mm", "start_s": 0.0, "end_s": 0.1}]})
    alignment = Alignment("mm", FPS, 3, speech)
    assert phoneme_spans(alignment) == phoneme_spans(speech) == [Span("m", 0.0, 0.1)]
    assert word_spans(alignment) == [Span("mm", 0.0, 0.1)]
    data = lip_opening_data(tiny_sequence(known_gap_m()), tiny_sets(), FPS,
                            phonemes=[("B", 0.0, 0.1), ("AA1", 0.1, 0.3), ("M", 0.3, 0.4)])
    assert [span.label for span in data.bilabials] == ["B", "M"]


def test_plot_lip_opening_writes_a_png(tmp_path):
    out = plot_lip_opening(tiny_sequence(known_gap_m()), tmp_path / "lips.png", tiny_sets(), FPS,
                           truth=tiny_sequence(np.zeros(FRAMES)), template=tiny_template(),
                           phonemes=PHONEMES, words=WORDS, title="tiny")
    assert out == tmp_path / "lips.png"
    assert_png(out)
    assert_png(plot_lip_opening(tiny_sequence(known_gap_m()), tmp_path / "alone.png", tiny_sets(), FPS))


@pytest.mark.parametrize("kwargs, message", [
    ({"truth": np.zeros((FRAMES, NUM_VERTICES + 1, 3))}, "truth: has 14 vertices, pred 13"),
    ({"phonemes": [("m", 0.3, 0.2)]}, "phonemes[0]: times 0.3..0.2 s"),
    ({"phonemes": [("m", 0.3)]}, "phonemes[0]: expected a (label, start_s, end_s) tuple"),
    ({"phonemes": "m a p"}, "phonemes: expected a list of (label, start_s, end_s) tuples"),
    ({"words": [("ma", float("nan"), 1.0)]}, "words[0]: times nan..1.0 s"),
    ({"fps": 0.0}, "fps: expected a positive frame rate"),
    ({"template": np.zeros((3, 3))}, "template: expected shape (13, 3)"),
])
def test_plot_lip_opening_errors(tmp_path, kwargs, message):
    args = {"fps": FPS, **kwargs}
    with pytest.raises(PtalkerError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        plot_lip_opening(tiny_sequence(known_gap_m()), tmp_path / "x.png", tiny_sets(), **args)
    assert not (tmp_path / "x.png").exists()


# --- LVE bars ----------------------------------------------------------------------------------

def scores_dict(lve: dict[str, float], pooled: float, unit: str = "m^2") -> dict:
    return {"lve": pooled, "lve_sqrt_mm": float(np.sqrt(pooled)) * 1000, "units": {"lve": unit},
            "protocol": {"dataset": "tiny", "split": "test", "lips": {"count": 4}, "conditioning": "none"},
            "sequences": [{"name": name, "condition": None, "frames": 10, "lve": value}
                          for name, value in lve.items()]}


def test_lve_table_sorts_and_aligns_methods(tmp_path):
    first = scores_dict({"A_s1": 2e-5, "A_s2": 5e-5, "B_s1": 3e-5}, 3.1e-5)
    path = tmp_path / "other.json"
    path.write_text(json.dumps(scores_dict({"A_s1": 4e-5, "B_s1": 1e-5, "C_s9": 9e-5}, 4.4e-5)))
    table = lve_table({"ours": first, "other": path})
    assert table.methods == ["ours", "other"]
    assert table.sequences == ["A_s2", "B_s1", "A_s1", "C_s9"]  # by the first method, largest first
    assert_allclose(table.lve, [[5e-5, 3e-5, 2e-5, np.nan], [np.nan, 1e-5, 4e-5, 9e-5]], atol=0)
    assert_allclose(table.pooled, [3.1e-5, 4.4e-5], atol=0)
    assert table.unit == "m^2"
    single = lve_table(first)
    assert single.methods == ["scores"] and single.sequences == ["A_s2", "B_s1", "A_s1"]


def test_lve_bar_labels_name_the_condition():
    scores = scores_dict({"A_s1": 2e-5}, 2e-5)
    scores["sequences"].append({"name": "A_s1", "condition": "T01", "lve": 1e-5})
    assert lve_table(scores).sequences == ["A_s1", "A_s1 (T01)"]


def test_lve_table_reads_a_score_report():
    from ptalker.evaluation.score import ScoreCounts, ScoreReport, SequenceScore

    rows = [SequenceScore(f"A_s{i}", None, 10, 0, 0, lve=i * 1e-5, lve_max_dist=0.0, fdd=0.0, mve=0.0)
            for i in (1, 2)]
    report = ScoreReport(lve=1.5e-5, lve_max_dist=0.0, lve_max_dist_mm=0.0, lve_sqrt_mm=3.9, fdd=0.0,
                         fdd_abs=0.0, mve=0.0, mve_mm=0.0, units={"lve": "m^2"},
                         counts=ScoreCounts(2, 20, 0, 0, 0), protocol={"dataset": "tiny", "split": "test"},
                         sequences=rows, ignored=[])
    table = lve_table(report)
    assert table.sequences == ["A_s2", "A_s1"] and table.unit == "m^2"
    assert_allclose(table.pooled_sqrt_mm, [3.9], atol=0)


def test_plot_lve_bars_writes_pngs(tmp_path):
    first = scores_dict({f"A_s{i:02d}": (i + 1) * 1e-5 for i in range(12)}, 6e-5)
    second = scores_dict({f"A_s{i:02d}": (13 - i) * 1e-5 for i in range(12)}, 7e-5)
    assert_png(plot_lve_bars(first, tmp_path / "one.png"))
    assert_png(plot_lve_bars({"ours": first, "theirs": second}, tmp_path / "two.png", title="t"))
    biwi = scores_dict({"F1_e37": 0.3, "F1_e38": 0.5}, 0.4, unit="(BIWI unit)^2")
    assert_png(plot_lve_bars(biwi, tmp_path / "biwi.png"))


@pytest.mark.parametrize("scores, message", [
    ({"lve": 1.0}, "scores: no per-sequence entries"),
    ({"sequences": [{"name": "A_s1"}]}, "scores: sequences\\[0\\] has no 'name' and numeric 'lve'"),
    ({}, "scores: got an empty {method: scores} mapping"),
    ({"a": scores_dict({"A_s1": 1.0}, 1.0), "b": scores_dict({"A_s1": 1.0}, 1.0, unit="(BIWI unit)^2")},
     "b: units.lve is '\\(BIWI unit\\)\\^2' but a's is 'm\\^2'"),
])
def test_plot_lve_bars_errors(tmp_path, scores, message):
    with pytest.raises(PtalkerError, match=message):
        plot_lve_bars(scores, tmp_path / "x.png")


def test_plot_lve_bars_file_errors(tmp_path):
    with pytest.raises(PtalkerError, match="missing.json: file not found"):
        plot_lve_bars(tmp_path / "missing.json", tmp_path / "x.png")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PtalkerError, match="bad.json: not valid JSON"):
        plot_lve_bars(tmp_path / "bad.json", tmp_path / "x.png")
    with pytest.raises(PtalkerError, match="out_png: .*x.jpg does not end in .png"):
        plot_lve_bars(scores_dict({"A_s1": 1.0}, 1.0), tmp_path / "x.jpg")


# --- training curves ---------------------------------------------------------------------------

TERMS = ("reconstruction", "lip")


def write_logs(folder: Path) -> None:
    """A run resumed after step 4 of epoch 2 (steps 3-4 logged again) that gained 'lip_seal'."""
    lines = ["epoch,step,lr,style,reconstruction,lip,total,lip_seal"]
    for step in range(1, 5):  # first run: no lip_seal (rewritten under the union: empty cells)
        lines.append(f"{(step - 1) // 2 + 1},{step},{step * 1e-4},reference,{10.0 / step},{step},99,")
    for step in range(3, 7):  # resumed run from the end of epoch 1
        lines.append(f"{(step - 1) // 2 + 1},{step},{step * 1e-4},identity,{1.0 / step},{2 * step},"
                     f"{3 * step},{0.5 * step}")
    (folder / "train_log.csv").write_text("\n".join(lines) + "\n")
    (folder / "val_log.csv").write_text("epoch,step,val_lve\n1,2,5e-5\n2,4,3e-5\n3,6,4e-5\n")


def test_read_training_log_handles_a_resumed_run_with_a_new_column(tmp_path):
    write_logs(tmp_path)
    log = read_training_log(tmp_path)
    assert log.source == tmp_path.name
    assert log.steps.tolist() == [1, 2, 3, 4, 5, 6]
    assert list(log.terms) == ["reconstruction", "lip", "lip_seal", "total"]  # 'style' is text: not a term
    assert_allclose(log.terms["reconstruction"], [10.0, 5.0, 1 / 3, 1 / 4, 1 / 5, 1 / 6], atol=1e-12)
    assert_allclose(log.terms["lip_seal"], [np.nan, np.nan, 1.5, 2.0, 2.5, 3.0], atol=1e-12)
    assert_allclose(log.terms["total"], [99, 99, 9, 12, 15, 18], atol=1e-12)
    assert_allclose(log.lr, np.arange(1, 7) * 1e-4, atol=1e-15)
    assert_allclose(log.epochs, [1, 1, 2, 2, 3, 3], atol=0)
    assert log.validation.steps.tolist() == [2, 4, 6] and log.validation.best == 1
    same = read_training_log((tmp_path / "train_log.csv", None))
    assert same.validation is None and same.steps.tolist() == log.steps.tolist()


def test_moving_average_matches_a_naive_one_and_skips_nan():
    rng = np.random.default_rng(1)
    values = rng.normal(size=50)
    values[[3, 4, 20]] = np.nan
    for window in (1, 4, 7):
        smooth = moving_average(values, window)
        for i in range(values.size):
            part = values[max(0, i - (window - 1) // 2):i + window // 2 + 1]
            expected = np.nanmean(part) if np.isfinite(part).any() else np.nan
            assert_allclose(smooth[i], expected, atol=1e-12)
    assert np.isnan(moving_average(np.array([np.nan, np.nan, 1.0]), 1)[:2]).all()


def test_plot_training_curves_writes_a_png(tmp_path):
    write_logs(tmp_path)
    assert_png(plot_training_curves(tmp_path, tmp_path / "curves.png"))
    (tmp_path / "val_log.csv").write_text("epoch,step,val_lve\n1,2,nan\n")  # no val split
    assert_png(plot_training_curves(tmp_path, tmp_path / "no_val.png", title="no validation"))


def test_training_log_errors(tmp_path):
    with pytest.raises(PtalkerError, match="run: .* is not a folder"):
        read_training_log(tmp_path / "nothing")
    with pytest.raises(PtalkerError, match="train_log.csv: file not found"):
        read_training_log(tmp_path)
    (tmp_path / "train_log.csv").write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(PtalkerError, match=r"train_log.csv: no column\(s\) step \(found: epoch, loss\)"):
        plot_training_curves(tmp_path, tmp_path / "x.png")
    (tmp_path / "train_log.csv").write_text("epoch,step,loss\n")
    with pytest.raises(PtalkerError, match="train_log.csv: has a header but no rows"):
        read_training_log(tmp_path)
    (tmp_path / "train_log.csv").write_text("epoch,step,loss\n1,one,0.5\n")
    with pytest.raises(PtalkerError, match="row 2 has step 'one', expected an integer"):
        read_training_log(tmp_path)
    (tmp_path / "train_log.csv").write_text("step,style\n1,reference\n")
    with pytest.raises(PtalkerError, match="no numeric loss column"):
        read_training_log(tmp_path)
    with pytest.raises(PtalkerError, match="run: expected a run folder or a"):
        read_training_log((tmp_path / "train_log.csv",))
    assert not (tmp_path / "x.png").exists()


# --- writing -----------------------------------------------------------------------------------

def test_a_failed_plot_leaves_an_existing_png(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "plot.png"
    out.write_bytes(b"the old plot")
    with pytest.raises(PtalkerError):
        plot_lve_bars({"lve": 1.0}, out)

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    write_logs(tmp_path)
    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_training_curves(tmp_path, out)
    assert out.read_bytes() == b"the old plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png", "train_log.csv", "val_log.csv"]


def test_missing_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PtalkerError, match="plots need matplotlib.*pip install matplotlib"):
        plot_lve_bars(scores_dict({"A_s1": 1.0}, 1.0), tmp_path / "x.png")


def test_log_and_score_plots_import_neither_torch_nor_matplotlib():
    code = ("import sys; from ptalker.plots import plot_training_curves, plot_lve_bars, Span; "
            "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_out_png_may_not_be_a_folder(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(PtalkerError, match="dir.png is a folder"):
        plot_lve_bars(scores_dict({"A_s1": 1.0}, 1.0), tmp_path / "dir.png")
