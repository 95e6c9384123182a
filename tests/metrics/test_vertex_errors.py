"""LVE / FDD / MVE against naive loops and hand-computed values."""

import math

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.metrics.vertex_errors import (
    align_pairs,
    face_dynamics_deviation,
    lip_max_sq_distance,
    lip_vertex_error,
    lip_vertex_error_mm,
    mean_vertex_error,
)

RTOL = 1e-10


def assert_close(actual, expected, rtol=RTOL, what="value"):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    diff = np.abs(actual - expected)
    where = np.unravel_index(np.argmax(diff), diff.shape) if diff.ndim else ()
    assert np.allclose(actual, expected, rtol=rtol, atol=0), \
        f"{what}: max difference {diff.max():.3e} at {where}"


# naive references: one frame, one vertex at a time ------------------------------------------

def naive_cut(pred, gt):
    frames = min(len(pred), len(gt))
    return pred[:frames], gt[:frames]


def naive_lve(preds, gts, lips, sqrt_first=False):
    values = []
    for pred, gt in zip(preds, gts):
        pred, gt = naive_cut(pred, gt)
        for t in range(len(gt)):
            worst = 0.0
            for v in lips:
                d = sum((float(pred[t, v, k]) - float(gt[t, v, k])) ** 2 for k in range(3))
                worst = max(worst, d)
            values.append(math.sqrt(worst) if sqrt_first else worst)
    return sum(values) / len(values)


def naive_motion_std(seq, template, upper):
    stds = []
    for v in upper:
        sq = [sum((float(seq[t, v, k]) - float(template[v, k])) ** 2 for k in range(3))
              for t in range(len(seq))]
        mean = sum(sq) / len(sq)
        stds.append(math.sqrt(sum((x - mean) ** 2 for x in sq) / len(sq)))
    return sum(stds) / len(stds)


def naive_fdd(preds, gts, templates, upper):
    per_seq = []
    for pred, gt, template in zip(preds, gts, templates):
        pred, gt = naive_cut(pred, gt)
        per_seq.append(naive_motion_std(gt, template, upper) - naive_motion_std(pred, template, upper))
    return per_seq


def naive_mve(preds, gts):
    total, count = 0.0, 0
    for pred, gt in zip(preds, gts):
        pred, gt = naive_cut(pred, gt)
        for t in range(len(gt)):
            for v in range(gt.shape[1]):
                sq = sum((float(pred[t, v, k]) - float(gt[t, v, k])) ** 2 for k in range(3))
                total += math.sqrt(sq)
                count += 1
    return total / count


@pytest.fixture
def random_set():
    rng = np.random.default_rng(0)
    vertices = 9
    gts = [rng.normal(size=(t, vertices, 3)).astype(np.float32) for t in (5, 7, 4)]
    preds = [gts[0] + 0.1 * rng.normal(size=gts[0].shape),  # same length
             rng.normal(size=(9, vertices, 3)),  # longer: cut to the ground truth
             rng.normal(size=(3, vertices, 3))]  # shorter: ground truth cut
    templates = [rng.normal(size=(vertices, 3)) for _ in gts]
    return preds, gts, templates, np.array([1, 4, 7]), np.array([0, 2, 3, 8])


def test_lve_matches_naive_loop(random_set):
    preds, gts, _, lips, _ = random_set
    assert_close(lip_vertex_error(preds, gts, lips), naive_lve(preds, gts, lips), 1e-6, "LVE")


def test_lve_mm_matches_naive_loop(random_set):
    preds, gts, _, lips, _ = random_set
    result = lip_vertex_error_mm(preds, gts, lips, units_to_mm=1000.0)
    assert result.unit == "mm"
    assert_close(result.mean_max_distance, 1000 * naive_lve(preds, gts, lips, sqrt_first=True), 1e-6)
    assert_close(result.sqrt_lve, 1000 * math.sqrt(naive_lve(preds, gts, lips)), 1e-6)
    assert result.sqrt_lve >= result.mean_max_distance


def test_fdd_matches_naive_loop(random_set):
    preds, gts, templates, _, upper = random_set
    expected = naive_fdd(preds, gts, templates, upper)
    result = face_dynamics_deviation(preds, gts, templates, upper)
    assert_close(result.per_sequence, expected, 1e-6, "FDD per sequence")
    assert_close(result.fdd, np.mean(expected), 1e-6, "FDD")
    assert_close(result.fdd_abs, np.mean(np.abs(expected)), 1e-6, "|FDD|")


def test_mve_matches_naive_loop(random_set):
    preds, gts, _, _, _ = random_set
    assert_close(mean_vertex_error(preds, gts), naive_mve(preds, gts), 1e-6, "MVE")


# hand-computed values ------------------------------------------------------------------------

def test_lve_hand_values():
    gt = np.zeros((2, 3, 3))
    pred = gt.copy()
    pred[0, 1] = (3, 4, 0)  # squared distance 25 in frame 0
    pred[0, 2] = (1, 0, 0)  # squared 1: not the max
    pred[1, 0] = (0, 0, 2)  # squared 4, but vertex 0 is not a lip vertex
    lips = np.array([1, 2])
    assert_close(lip_max_sq_distance(pred, gt, lips), [25.0, 0.0])
    assert lip_vertex_error([pred], [gt], lips) == pytest.approx(12.5)  # (25 + 0) / 2 frames
    mm = lip_vertex_error_mm([pred], [gt], lips, units_to_mm=1000.0)
    assert mm.mean_max_distance == pytest.approx(2500.0)  # (5 + 0) / 2 * 1000
    assert mm.sqrt_lve == pytest.approx(1000 * math.sqrt(12.5))
    assert lip_vertex_error_mm([pred], [gt], lips).unit == "data units"


def test_lve_pools_frames_not_sequences():
    gt_a, gt_b = np.zeros((1, 2, 3)), np.zeros((3, 2, 3))
    pred_a = gt_a.copy()
    pred_a[0, 0] = (3, 4, 0)  # one frame with 25
    # pooled over 4 frames: 25 / 4, not the mean of sequence means (12.5)
    assert lip_vertex_error([pred_a, gt_b], [gt_a, gt_b], [0]) == pytest.approx(6.25)


def test_mve_hand_values():
    gt = np.zeros((1, 2, 3))
    pred = gt.copy()
    pred[0, 0] = (3, 4, 0)
    assert mean_vertex_error([pred], [gt]) == pytest.approx(2.5)


def test_fdd_hand_values_and_sign():
    template = np.zeros((2, 3))
    gt = np.zeros((2, 2, 3))
    gt[1, 0] = (0, 2, 0)  # squared motion norm over time: [0, 4] -> std 2
    still = np.zeros_like(gt)
    result = face_dynamics_deviation([still], [gt], [template], [0])
    assert result.fdd == pytest.approx(2.0)  # std_gt - std_pred > 0: prediction too still
    over = np.zeros_like(gt)
    over[1, 0] = (0, 0, 3)  # [0, 9] -> std 4.5
    result = face_dynamics_deviation([over], [gt], [template], [0])
    assert result.fdd == pytest.approx(-2.5)  # too much motion: negative
    assert result.fdd_abs == pytest.approx(2.5)
    both = face_dynamics_deviation([still, over], [gt, gt], [template, template], [0])
    assert both.fdd == pytest.approx(-0.25) and both.fdd_abs == pytest.approx(2.25)


def test_cutting_to_ground_truth_length():
    gt = np.zeros((2, 2, 3))
    pred = np.zeros((4, 2, 3))
    pred[2:, 0] = (3, 4, 0)  # error only in frames past the ground truth
    assert lip_vertex_error([pred], [gt], [0]) == 0.0
    assert mean_vertex_error([pred], [gt]) == 0.0
    pairs = align_pairs([pred], [gt])
    assert pairs.pred_frames_cut == 2 and pairs.gt_frames_dropped == 0


def test_short_prediction_cuts_ground_truth_and_counts():
    gt = np.zeros((5, 2, 3))
    gt[3:, 0] = (3, 4, 0)
    pred = np.zeros((3, 2, 3))
    pairs = align_pairs([pred], [gt])
    assert pairs.gt_frames_dropped == 2 and pairs.pred_frames_cut == 0
    assert [len(g) for g in pairs.gt] == [3]
    assert lip_vertex_error([pred], [gt], [0]) == 0.0


def test_errors():
    good = np.zeros((2, 4, 3))
    with pytest.raises(PtalkerError, match="vertices"):
        lip_vertex_error([np.zeros((2, 5, 3))], [good], [0])
    with pytest.raises(PtalkerError, match="4 vertices"):
        lip_vertex_error([good], [good], [4])
    with pytest.raises(PtalkerError, match="one ground truth per prediction"):
        mean_vertex_error([good], [])
    with pytest.raises(PtalkerError, match=r"\(T, V, 3\)"):
        mean_vertex_error([np.zeros((2, 12))], [good])
    with pytest.raises(PtalkerError, match="templates"):
        face_dynamics_deviation([good], [good], [], [0])
