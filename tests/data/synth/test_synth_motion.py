"""Synthetic motion: viseme targets, Cohen-Massaro blending (against a naive per-frame loop),
the lip-gap model (against the stand-in's vertices), animate() (shapes, determinism, lip
seals, each style parameter moving its face statistic) and speaker drawing.

Everything runs on espeak-ng speech of a few short sentences and the stand-in head; no corpus
is written (tests/test_synth_corpus.py does that).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from helpers import assert_allclose, tiny_flame

from ptalker.audio.timeline import Phoneme, Speech
from ptalker.data.synth import motion
from ptalker.data.synth.coarticulation import (
    ANTICIPATION_RATIO,
    CARRY_OVER_RATIO,
    GESTURE_TAU_RATIO,
    Segment,
    blend,
    segments,
)
from ptalker.data.synth.espeak import Voice, synthesize
from ptalker.data.synth.motion import (
    COARTICULATION_TAU_S,
    LEAD_IN_S,
    SEAL_OVERLAP_M,
    TUCK_GAP_M,
    LipGapModel,
    animate,
    blink_curve,
    head_sway,
    lip_gap_m,
    stress_pulses,
    with_lead_in,
)
from ptalker.data.synth.sentences import generate_sentences
from ptalker.data.synth.style import (
    NUM_SHAPE_COMPONENTS,
    SHAPE_LIMIT,
    Speaker,
    SpeakingStyle,
    StyleRanges,
    VoiceRanges,
    draw_speaker,
)
from ptalker.data.synth.visemes import (
    BILABIALS,
    CHANNELS,
    CLOSE_VOWELS,
    CONSONANT_CLASS,
    DIPHTHONG_SPLIT,
    DONT_CARE,
    GESTURE_CHANNELS,
    LABIODENTAL_HOLD_S,
    LIP_SEAL_HOLD_S,
    OPEN_VOWELS,
    REST,
    REST_SETTLE_S,
    VOWELS,
    is_known,
    is_pause,
    targets_for,
)
from ptalker.errors import PtalkerError
from ptalker.flame.flame_files import write_flame_dir
from ptalker.flame.flame_model import FlameModel
from ptalker.mesh.regions import RegionMasks
from ptalker.metrics.face_measures import lip_gap, style_statistics

VOICE = Voice(variant="m3", rate_wpm=175, pitch=50, pitch_range=50)
"""One fixed, reproducible voice for every sentence here."""
TEXT = "The puppy ate a big plum, and Bob fed him warm soup before bed."
"""~3.8 s with VOICE: twelve /p b m/ (none in the first 0.15 s) and two /f/."""
TEXT_BILABIAL_FIRST = "Bob and Pam bought maple syrup by the bay."
FPS = 30.0
MM = 1e-3
CLOSED_GAP_M = 1.0 * MM
"""Lips count as sealed below a 1 mm gap (as in ptalker.evaluation.corpus_checks)."""
JAW_ONLY_ATOL_M = 0.1 * MM
"""LipGapModel's parabola in the jaw angle; the stand-in's gap departs from it by ~0.07 mm over 0..0.25 rad."""
GAP_MODEL_ATOL_M = 0.15 * MM
GAP_MODEL_MEAN_ATOL_M = 0.03 * MM
"""Worst and mean error over random mouths (measured ~0.08 mm and ~0.012 mm on the stand-in)."""
LINEAR_ATOL_M = 2e-6
"""float32 FLAME rounding on ~1 cm gaps."""
SEAL_MODEL_ATOL_M = 0.15 * MM
"""Error of the gap model at fully sealed frames (small jaw, no large tuck)."""
BLEND_ATOL = 1e-9
CHANNEL_SMOOTH_TAUS_S = (0.02, 0.06)
EXTREME_STYLE = SpeakingStyle(lip_amplitude=1.4, jaw_amplitude=1.4, smile_bias=0.8, anticipation_ms=100.0,
                              smoothness=1.6, asymmetry=0.4, brow_activity=1.0, head_motion=1.6,
                              blink_rate_hz=0.5)
"""Every parameter at the top of (or beyond) StyleRanges' default range."""
MUTED_STYLE = SpeakingStyle(lip_amplitude=0.6, jaw_amplitude=0.6, smile_bias=-0.6, anticipation_ms=0.0,
                            smoothness=0.6, asymmetry=-0.4, brow_activity=0.0, head_motion=0.2,
                            blink_rate_hz=0.1)


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def speech() -> Speech:
    return synthesize(TEXT, VOICE)


@pytest.fixture(scope="module")
def lip_ids(standin_model):
    masks = RegionMasks.from_flame_masks(standin_model.masks_path).all
    return masks["lip_contact_upper"], masks["lip_contact_lower"]


@pytest.fixture(scope="module")
def gap_model(standin_model, lip_ids):
    """The lip-gap model of the mean face (shape zeros: the template is the model's own)."""
    return LipGapModel.fit(standin_model, torch.zeros(NUM_SHAPE_COMPONENTS), *lip_ids)


def vertices_of(model: FlameModel, params: motion.MotionParams, head_still: bool = False) -> np.ndarray:
    """(T, V, 3) stand-in vertices of ``params`` (mean face); neck pose zeroed if ``head_still``."""
    poses = {k: torch.from_numpy(v) for k, v in dataclasses.asdict(params).items()}
    if head_still:
        poses["neck_pose"] = torch.zeros_like(poses["neck_pose"])
    with torch.no_grad():
        return model(**poses).vertices.numpy()


def seal_frames(phoneme: Phoneme, style: SpeakingStyle, fps: float, num_frames: int) -> np.ndarray:
    """Frames whose articulation time (t + lead) lies in the /p b m/'s widened segment: the
    closure gesture is exactly 1 there."""
    centre, width = 0.5 * (phoneme.start_s + phoneme.end_s), max(phoneme.end_s - phoneme.start_s, LIP_SEAL_HOLD_S)
    lead = style.anticipation_ms / 1000.0
    first = math.ceil((centre - 0.5 * width - lead) * fps - 1e-9)
    last = math.floor((centre + 0.5 * width - lead) * fps + 1e-9)
    return np.arange(max(first, 0), min(last, num_frames - 1) + 1)


# --- visemes -------------------------------------------------------------------------------------

def test_every_espeak_symbol_is_known():
    symbols = set()
    for text in generate_sentences(30, seed=0):
        symbols |= {p.symbol for p in synthesize(text, VOICE).phonemes}
    unknown = sorted(s for s in symbols if not is_known(s))
    assert not unknown, f"espeak-ng en-us symbols without viseme targets: {unknown}"
    assert BILABIALS & symbols and OPEN_VOWELS & symbols and CLOSE_VOWELS & symbols


@pytest.mark.parametrize("symbol", ["p", "b", "m", "m-"])
def test_bilabials_close_the_lips(symbol):
    (target,) = targets_for(symbol)
    assert target.value("closure") == 1.0 and target.value("tuck") == 0.0
    assert target.min_hold_s == LIP_SEAL_HOLD_S


@pytest.mark.parametrize("symbol", ["f", "v"])
def test_labiodentals_tuck_the_lip(symbol):
    (target,) = targets_for(symbol)
    assert target.value("tuck") == 1.0 and target.value("closure") == 0.0
    assert target.min_hold_s == LABIODENTAL_HOLD_S


def test_no_other_phoneme_seals_or_tucks():
    for symbol, cls in CONSONANT_CLASS.items():
        (target,) = targets_for(symbol)
        assert target.value("closure") == (1.0 if cls == "bilabial" else 0.0), symbol
        assert target.value("tuck") == (1.0 if cls == "labiodental" else 0.0), symbol
    for symbol, targets in VOWELS.items():
        assert all(t.value("closure") == 0.0 and t.value("tuck") == 0.0 for t in targets), symbol


def test_open_vowels_open_the_jaw_more_than_close_vowels():
    assert {"a", "A:", "aa"} <= OPEN_VOWELS and {"i:", "u:", "I", "U"} <= CLOSE_VOWELS
    open_jaw = min(targets_for(s)[0].value("jaw") for s in OPEN_VOWELS)
    close_jaw = max(targets_for(s)[0].value("jaw") for s in CLOSE_VOWELS)
    assert open_jaw > 2 * close_jaw, (open_jaw, close_jaw)
    assert targets_for("u:")[0].value("round") > targets_for("i:")[0].value("round")
    assert targets_for("i:")[0].value("spread") > targets_for("u:")[0].value("spread")


@pytest.mark.parametrize("symbol, closes", [("aI", True), ("aU", True), ("eI", True), ("oU", True),
                                            ("OI", True), ("e@", False)])
def test_diphthongs_give_two_targets(symbol, closes):
    first, second = targets_for(symbol)
    if closes:  # from a more open to a close vowel
        assert first.value("jaw") > second.value("jaw"), symbol
    assert first != second


def test_variants_fall_back_on_their_prefix():
    assert targets_for("aI2") == targets_for("aI")
    assert targets_for("O2") == targets_for("O")
    assert targets_for("p2") == targets_for("p")
    assert is_known("aI2") and is_known("O2")


def test_unknown_symbol_is_neutral_and_weak():
    assert not is_known("Y") and not is_known("=")
    (target,) = targets_for("Y")
    for channel in CHANNELS:
        assert target.value(channel) == 0.0 and target.strength(channel) == DONT_CARE, channel
    assert target.min_hold_s == 0.0


@pytest.mark.parametrize("symbol", ["_", "_:", "_!", ""])
def test_pauses_rest(symbol):
    assert is_pause(symbol) and is_known(symbol)
    assert targets_for(symbol) == (REST,)


# --- coarticulation: segments --------------------------------------------------------------------

def test_segments_split_diphthongs():
    segs = segments([Phoneme("aI", 2, 0.1, 0.3, 0)])
    assert [(s.start_s, s.end_s) for s in segs] == [(0.1, 0.1 + DIPHTHONG_SPLIT * 0.2),
                                                    (0.1 + DIPHTHONG_SPLIT * 0.2, 0.3)]
    assert (segs[0].target, segs[1].target) == VOWELS["aI"]
    assert all(s.symbol == "aI" and s.stress == 2 for s in segs)


def test_segments_widen_short_lip_seals():
    short, long_ = segments([Phoneme("b", 0, 0.10, 0.12, 0), Phoneme("m", 0, 0.30, 0.45, 1)])
    assert short.end_s - short.start_s == pytest.approx(LIP_SEAL_HOLD_S, abs=1e-12)
    assert 0.5 * (short.start_s + short.end_s) == pytest.approx(0.11, abs=1e-12)  # about the centre
    assert (long_.start_s, long_.end_s) == (0.30, 0.45)  # long enough already
    (tuck,) = segments([Phoneme("f", 0, 0.2, 0.21, 0)])
    assert tuck.end_s - tuck.start_s == pytest.approx(LABIODENTAL_HOLD_S, abs=1e-12)


@pytest.mark.parametrize("length_s", [0.0, 0.05, 0.1, REST_SETTLE_S, 0.6])
def test_pause_closure_scales_with_length(length_s):
    (seg,) = segments([Phoneme("_", 0, 1.0, 1.0 + length_s, -1)])
    expected = min(1.0, length_s / REST_SETTLE_S) * REST.value("closure")
    assert seg.target.value("closure") == pytest.approx(expected, abs=1e-12)
    for channel in CHANNELS:
        assert seg.target.strength(channel) == REST.strength(channel)
        if channel != "closure":
            assert seg.target.value(channel) == REST.value(channel)


def test_segments_keep_order_and_cover_the_speech(speech):
    segs = segments(speech.phonemes)
    assert len(segs) >= len(speech.phonemes)
    assert [s.symbol for s in segs][0] == speech.phonemes[0].symbol
    unwidened = [s for s in segs if s.target.min_hold_s == 0.0]
    assert all(b.start_s >= a.start_s for a, b in zip(unwidened, unwidened[1:]))


# --- coarticulation: blend -----------------------------------------------------------------------

def naive_blend(segs: list[Segment], times_s: np.ndarray, tau_s: float, lead_s: float) -> dict[str, np.ndarray]:
    """The module docstring's formulas, one frame, channel and segment at a time."""
    out = {c: np.zeros(len(times_s)) for c in CHANNELS}
    for k, t in enumerate(times_s):
        at = t + lead_s
        for c in CHANNELS:
            num = den = strongest = 0.0
            for s in segs:
                if at < s.start_s:
                    distance, tau_side = s.start_s - at, ANTICIPATION_RATIO * tau_s
                elif at > s.end_s:
                    distance, tau_side = at - s.end_s, CARRY_OVER_RATIO * tau_s
                else:
                    distance, tau_side = 0.0, 1.0
                dominance = s.target.strength(c) * math.exp(-distance / tau_side)
                num += dominance * s.target.value(c)
                den += dominance
                strongest = max(strongest, s.target.value(c) * math.exp(-distance / (GESTURE_TAU_RATIO * tau_side)))
            out[c][k] = strongest if c in GESTURE_CHANNELS else num / den
    return out


@pytest.mark.parametrize("tau_s, lead_s", [(COARTICULATION_TAU_S, 0.04), (0.06, 0.0), (0.02, 0.1)])
def test_blend_matches_naive(speech, tau_s, lead_s):
    segs = segments(speech.phonemes)
    rng = np.random.default_rng(0)
    times = np.concatenate([np.arange(0.0, speech.duration_s, 1 / FPS),
                            rng.uniform(-0.3, speech.duration_s + 0.3, 40)])  # beyond both ends too
    got, want = blend(segs, times, tau_s, lead_s), naive_blend(segs, times, tau_s, lead_s)
    for channel in CHANNELS:
        assert_allclose(got[channel], want[channel], BLEND_ATOL, f"channel {channel}")


def test_blend_stays_in_unit_range(speech):
    segs = segments(speech.phonemes)
    times = np.arange(-0.2, speech.duration_s + 0.2, 0.005)
    for tau_s in (0.01, COARTICULATION_TAU_S, 0.1):
        for lead_s in (0.0, 0.1):
            for channel, curve in blend(segs, times, tau_s, lead_s).items():
                assert np.isfinite(curve).all() and curve.min() >= 0.0 and curve.max() <= 1.0, \
                    f"{channel} (tau {tau_s}, lead {lead_s}): range {curve.min()}..{curve.max()}"


def test_larger_tau_is_smoother(speech):
    segs = segments(speech.phonemes)
    times = np.arange(0.0, speech.duration_s, 0.005)
    sharp, smooth = (blend(segs, times, tau, 0.0) for tau in CHANNEL_SMOOTH_TAUS_S)
    for channel in CHANNELS:
        rough = [np.abs(np.diff(curves[channel], n=2)).mean() for curves in (sharp, smooth)]
        assert rough[1] < rough[0], f"{channel}: mean |2nd difference| {rough[0]:.3g} -> {rough[1]:.3g}"


@pytest.mark.parametrize("lead_s", [0.02, 0.1])
def test_lead_shifts_curves_earlier(speech, lead_s):
    segs = segments(speech.phonemes)
    times = np.arange(0.0, speech.duration_s, 1 / FPS)
    led = blend(segs, times, COARTICULATION_TAU_S, lead_s)
    later = blend(segs, times + lead_s, COARTICULATION_TAU_S, 0.0)
    for channel in CHANNELS:
        assert_allclose(led[channel], later[channel], 1e-12, f"channel {channel}")


@pytest.mark.parametrize("tau_s", [COARTICULATION_TAU_S, 1.6 * COARTICULATION_TAU_S])  # smoothness 1, 1.6
def test_bilabial_seals_between_open_vowels(tau_s):
    phonemes = [Phoneme("_", 0, 0.0, 0.1, -1), Phoneme("a", 2, 0.1, 0.3, 0), Phoneme("b", 0, 0.3, 0.32, 0),
                Phoneme("a", 0, 0.32, 0.52, 0), Phoneme("_", 0, 0.52, 0.9, -1)]
    times = np.array([0.2, 0.31, 0.42])  # open vowel, /b/'s centre, open vowel
    curves = blend(segments(phonemes), times, tau_s, 0.0)
    assert curves["closure"][1] == 1.0  # fully, however wide the blending
    assert curves["closure"][0] < 0.5 and curves["closure"][2] < 0.5
    assert curves["jaw"][1] < min(curves["jaw"][0], curves["jaw"][2])


# --- LipGapModel ---------------------------------------------------------------------------------

GAP_RANGES = {"lip_pucker": (0.0, 1.0), "lip_stretch_left": (0.0, 1.3), "lip_stretch_right": (0.0, 1.3),
              "lip_press": (0.0, 0.4), "upper_lip_raise": (0.0, 0.3), "lower_lip_depress": (0.0, 0.5),
              "lower_lip_tuck": (0.0, 1.0), "lips_part": (-1.5, 1.2), "smile_left": (0.0, 0.8),
              "smile_right": (0.0, 0.8), "frown": (0.0, 0.8), "mouth_sideways": (-0.3, 0.3)}
"""Coefficient ranges that animate() produces (lips_part goes negative to seal an open jaw)."""
JAW_RANGE_RAD = (0.0, 0.25)
"""jaw_amplitude 1.4 x JAW_OPEN_RAD."""


def random_mouths(names: list[str], count: int, seed: int, jaw_rad=None):
    """``count`` random jaw openings (T,) and coefficient dicts {name: (T,)}, ~40% of each left at 0,
    with the (T, K) expression and (T, 3) jaw_pose tensors for FlameModel."""
    rng = np.random.default_rng(seed)
    jaw = rng.uniform(*JAW_RANGE_RAD, count) if jaw_rad is None else np.full(count, jaw_rad)
    coefficients = {name: rng.uniform(low, high, count) * (rng.uniform(size=count) < 0.6)
                    for name, (low, high) in GAP_RANGES.items()}
    expression = torch.zeros(count, len(names))
    for name, values in coefficients.items():
        expression[:, names.index(name)] = torch.from_numpy(values).float()
    jaw_pose = torch.zeros(count, 3)
    jaw_pose[:, 0] = torch.from_numpy(jaw).float()
    return jaw, coefficients, expression, jaw_pose


def random_shape(seed: int) -> torch.Tensor:
    draw = np.random.default_rng(seed).normal(0.0, 0.8, NUM_SHAPE_COMPONENTS)
    return torch.tensor(np.clip(draw, -SHAPE_LIMIT, SHAPE_LIMIT), dtype=torch.float32)


@pytest.mark.parametrize("shape_seed", [None, 5])
def test_lip_gap_model_is_exact_at_the_probe_jaw(standin_model, lip_ids, shape_seed):
    """At the jaw it was probed at, FLAME's gap is linear in the coefficients and the model's
    parabola in the jaw passes through the probe: the prediction is exact there."""
    shape = torch.zeros(NUM_SHAPE_COMPONENTS) if shape_seed is None else random_shape(shape_seed)
    model = LipGapModel.fit(standin_model, shape, *lip_ids)
    jaw, coefficients, expression, jaw_pose = random_mouths(standin_model.expression_names, 60, 2,
                                                           jaw_rad=motion.JAW_PROBE_RAD[0])
    with torch.no_grad():
        actual = lip_gap_m(standin_model(shape=shape, expression=expression, jaw_pose=jaw_pose).vertices,
                           *lip_ids).numpy()
    assert_allclose(model.predict(jaw, coefficients), actual, LINEAR_ATOL_M, "predicted gap at the probe jaw (m)")
    assert model.jaw_curve[1] > 0 and model.per_unit_m["lips_part"] > 0 and model.per_unit_m["lower_lip_tuck"] < 0


def test_lip_gap_model_follows_the_jaw(standin_model, lip_ids, gap_model):
    jaw = np.linspace(*JAW_RANGE_RAD, 11)
    jaw_pose = torch.zeros(len(jaw), 3)
    jaw_pose[:, 0] = torch.from_numpy(jaw).float()
    with torch.no_grad():
        actual = lip_gap_m(standin_model(jaw_pose=jaw_pose).vertices, *lip_ids).numpy()
    assert_allclose(gap_model.predict(jaw[:1], {}), actual[:1], 1e-9, "gap at rest (m)")
    assert_allclose(gap_model.predict(jaw, {}), actual, JAW_ONLY_ATOL_M, "lip gap over the jaw's range (m)")
    assert actual[-1] > 15 * MM


@pytest.mark.parametrize("shape_seed", [None, 5])
def test_lip_gap_model_predicts_flame(standin_model, lip_ids, shape_seed):
    shape = torch.zeros(NUM_SHAPE_COMPONENTS) if shape_seed is None else random_shape(shape_seed)
    model = LipGapModel.fit(standin_model, shape, *lip_ids)
    jaw, coefficients, expression, jaw_pose = random_mouths(standin_model.expression_names, 160, 1)
    with torch.no_grad():
        actual = lip_gap_m(standin_model(shape=shape, expression=expression, jaw_pose=jaw_pose).vertices,
                           *lip_ids).numpy()
    predicted = model.predict(jaw, coefficients)
    assert_allclose(predicted, actual, GAP_MODEL_ATOL_M, "predicted lip gap (m)")
    mean_error = np.abs(predicted - actual).mean()
    assert mean_error < GAP_MODEL_MEAN_ATOL_M, f"mean |error| {mean_error / MM:.3f} mm"


def test_lip_gap_model_depends_on_the_face(standin_model, lip_ids, gap_model):
    other = LipGapModel.fit(standin_model, torch.full((NUM_SHAPE_COMPONENTS,), 1.5), *lip_ids)
    assert other.jaw_curve != gap_model.jaw_curve


def test_lip_gap_model_needs_named_components(tmp_path):
    model, embedding = tiny_flame(num_vertices=30)
    flame = FlameModel(write_flame_dir(tmp_path / "flame2020", model, embedding))  # FLAME's PCA names
    with pytest.raises(PtalkerError, match="lips_part") as err:
        LipGapModel.fit(flame, torch.zeros(3), np.array([0, 1]), np.array([2, 3]))
    assert str(tmp_path / "flame2020") in str(err.value)


def test_lip_gap_model_needs_a_lips_part_that_moves_the_lips(tmp_path, standin_model):
    names = list(standin_model.expression_names)
    model, embedding = tiny_flame(num_vertices=30)
    model["shapedirs"][..., 300 + names.index("lips_part")] = 0.0
    flame = FlameModel(write_flame_dir(tmp_path / "flame", model, embedding, info={"expression_names": names}))
    with pytest.raises(PtalkerError, match="'lips_part' does not move the lips"):
        LipGapModel.fit(flame, torch.zeros(3), np.array([0, 1]), np.array([2, 3]))


# --- animate: shapes and determinism -------------------------------------------------------------

@pytest.mark.parametrize("fps", [FPS, 25.0, 60.0])
def test_animate_shapes(speech, standin_model, gap_model, fps):
    params = animate(speech, SpeakingStyle(), standin_model.expression_names, gap_model, fps,
                     np.random.default_rng(0))
    frames, k = round(speech.duration_s * fps), len(standin_model.expression_names)
    for name, shape in (("expression", (frames, k)), ("jaw_pose", (frames, 3)), ("neck_pose", (frames, 3)),
                        ("eye_pose", (frames, 6))):
        value = getattr(params, name)
        assert value.shape == shape and value.dtype == np.float32 and np.isfinite(value).all(), name
    assert not params.eye_pose.any() and not params.jaw_pose[:, 1:].any()
    assert params.jaw_pose[:, 0].min() >= 0.0 and params.jaw_pose[:, 0].max() > 0.05


def test_animate_is_deterministic(speech, standin_model, gap_model):
    names = standin_model.expression_names
    first, again, other = (animate(speech, EXTREME_STYLE, names, gap_model, FPS, np.random.default_rng(seed))
                           for seed in (3, 3, 4))
    for field in ("expression", "jaw_pose", "neck_pose", "eye_pose"):
        assert np.array_equal(getattr(first, field), getattr(again, field)), field
    blinks = [names.index("blink_left"), names.index("blink_right")]
    assert not np.array_equal(first.expression[:, blinks], other.expression[:, blinks])
    assert not np.array_equal(first.neck_pose, other.neck_pose)
    mouth = [i for i, n in enumerate(names) if n not in ("blink_left", "blink_right")]
    assert np.array_equal(first.expression[:, mouth], other.expression[:, mouth])  # speech decides the mouth
    assert np.array_equal(first.jaw_pose, other.jaw_pose)


# --- animate: lip seals ---------------------------------------------------------------------------

@pytest.mark.parametrize("style", [SpeakingStyle(), EXTREME_STYLE, MUTED_STYLE], ids=["average", "extreme", "muted"])
def test_lips_seal_at_every_bilabial(speech, standin_model, gap_model, standin_sets, standin_template, style):
    params = animate(speech, style, standin_model.expression_names, gap_model, FPS, np.random.default_rng(0))
    gap = lip_gap(vertices_of(standin_model, params), standin_sets, standin_template)  # (T,) head motion removed
    bilabials = [p for p in speech.phonemes if p.symbol in BILABIALS]
    assert len(bilabials) >= 8
    for p in bilabials:
        frames = seal_frames(p, style, FPS, len(gap))
        assert frames.size, f"/{p.symbol}/ at {p.start_s:.3f} s: no frame inside its seal"
        assert gap[frames].max() < CLOSED_GAP_M, \
            f"/{p.symbol}/ at {p.start_s:.3f} s: lip gap {gap[frames] / MM} mm, expected < 1 mm"
    assert gap.max() > 5 * MM  # and the mouth does open in between


def test_seal_and_tuck_targets_are_met(speech, standin_model, gap_model, lip_ids):
    """At full closure the gap is about -SEAL_OVERLAP_M, at a full tuck about TUCK_GAP_M."""
    style = SpeakingStyle()
    params = animate(speech, style, standin_model.expression_names, gap_model, FPS, np.random.default_rng(0))
    gap = lip_gap_m(torch.from_numpy(vertices_of(standin_model, params, head_still=True)), *lip_ids).numpy()
    times = np.arange(len(gap)) / FPS
    channels = blend(segments(speech.phonemes), times, COARTICULATION_TAU_S * style.smoothness,
                     style.anticipation_ms / 1000.0)
    sealed = channels["closure"] == 1.0
    tucked = (channels["tuck"] == 1.0) & (channels["closure"] < 0.01)
    assert sealed.sum() >= 10 and tucked.sum() >= 2
    assert_allclose(gap[sealed], np.full(sealed.sum(), -SEAL_OVERLAP_M), SEAL_MODEL_ATOL_M, "sealed lip gap (m)")
    assert_allclose(gap[tucked], np.full(tucked.sum(), TUCK_GAP_M), SEAL_MODEL_ATOL_M, "tucked lip gap (m)")


def test_sentence_initial_bilabial_seals_with_large_anticipation(standin_model, gap_model, lip_ids):
    """The corpus's lead-in silence leaves room for a seal before the first sound."""
    early = with_lead_in(synthesize(TEXT_BILABIAL_FIRST, VOICE))
    style = SpeakingStyle(anticipation_ms=100.0)
    params = animate(early, style, standin_model.expression_names, gap_model, FPS, np.random.default_rng(0))
    first, second = [p for p in early.phonemes if p.symbol in BILABIALS][:2]
    assert first.start_s < LEAD_IN_S + 0.05 and second.start_s > LEAD_IN_S + 0.15
    # frames up to the first /b/'s end (checks.bilabial_gaps' window starts 0.12 s earlier still)
    frames = slice(0, math.floor(first.end_s * FPS) + 1)
    expression, jaw_pose = (torch.from_numpy(p[frames]) for p in (params.expression, params.jaw_pose))
    with torch.no_grad():
        gap = lip_gap_m(standin_model(expression=expression, jaw_pose=jaw_pose).vertices, *lip_ids).numpy()
    assert gap.min() < CLOSED_GAP_M, f"first frames' lip gap {gap / MM} mm: the initial /{first.symbol}/ never seals"


# --- animate: style parameters move their statistics ----------------------------------------------

_STATISTICS_CACHE: dict = {}


def statistics_of(style: SpeakingStyle, speech, model, gap_model, sets, template):
    key = tuple(dataclasses.astuple(style))
    if key not in _STATISTICS_CACHE:
        params = animate(speech, style, model.expression_names, gap_model, FPS, np.random.default_rng(0))
        _STATISTICS_CACHE[key] = style_statistics(vertices_of(model, params), template, sets, FPS)
    return _STATISTICS_CACHE[key]


STYLE_EFFECTS = [
    # (low style fields, high style fields, statistic, least rise of the statistic from low to high)
    ({}, {"lip_amplitude": 1.4}, "lip_motion_mm", 0.3),
    ({}, {"jaw_amplitude": 1.4}, "jaw_opening_mm", 0.5),
    ({}, {"smile_bias": 0.8}, "smile_mm", 0.5),
    ({"smile_bias": -0.6}, {}, "smile_mm", 0.5),
    ({}, {"asymmetry": 0.4}, "asymmetry_mm", 0.2),
    ({"asymmetry": -0.4}, {}, "asymmetry_mm", 0.2),
    ({}, {"brow_activity": 1.0}, "brow_motion_mm", 0.05),
    ({}, {"head_motion": 1.6}, "head_motion_deg", 0.5),
    ({"blink_rate_hz": 0.0}, {"blink_rate_hz": 1.0}, "blink_rate_hz", 0.2),
    ({"smoothness": 1.6}, {}, "jerk_ratio", 0.05),  # smoother: less jerk
]


@pytest.mark.parametrize("low, high, statistic, rise", STYLE_EFFECTS,
                         ids=[f"{s}-{next(iter(lo or hi))}" for lo, hi, s, _ in STYLE_EFFECTS])
def test_style_parameter_moves_its_statistic(speech, standin_model, gap_model, standin_sets, standin_template,
                                             low, high, statistic, rise):
    base = SpeakingStyle()
    lower, higher = (getattr(statistics_of(dataclasses.replace(base, **fields), speech, standin_model, gap_model,
                                           standin_sets, standin_template), statistic) for fields in (low, high))
    assert higher - lower > rise, f"{statistic}: {lower:.4g} ({low or 'base'}) -> {higher:.4g} ({high or 'base'})"


def test_still_speaker_has_still_brows_and_no_blinks(speech, standin_model, gap_model, standin_sets, standin_template):
    still = SpeakingStyle(brow_activity=0.0, blink_rate_hz=0.0)
    stats = statistics_of(still, speech, standin_model, gap_model, standin_sets, standin_template)
    assert stats.blink_rate_hz == 0.0 and stats.brow_motion_mm < 0.01


def test_anticipation_moves_the_mouth_earlier(speech, standin_model, gap_model, lip_ids):
    names = standin_model.expression_names
    gaps = {}
    for lead_ms in (0.0, 100.0):  # 3 frames at 30 fps
        params = animate(speech, SpeakingStyle(anticipation_ms=lead_ms), names, gap_model, FPS,
                         np.random.default_rng(0))
        gaps[lead_ms] = lip_gap_m(torch.from_numpy(vertices_of(standin_model, params, head_still=True)),
                                  *lip_ids).numpy()
    late, early = gaps[0.0] - gaps[0.0].mean(), gaps[100.0] - gaps[100.0].mean()
    lags = np.arange(-6, 7)  # early[t] ~ late[t + lag]
    corr = [np.dot(early[max(0, -lag):len(early) - max(0, lag)], late[max(0, lag):len(late) - max(0, -lag)])
            for lag in lags]
    assert lags[int(np.argmax(corr))] == 3, f"cross-correlation peaks at {lags[int(np.argmax(corr))]} frames"
    assert_allclose(gaps[100.0][:-3], gaps[0.0][3:], 1e-6, "lip gap led by 100 ms vs 3 frames later (m)")


def test_blink_rate_leaves_head_sway_alone(speech, standin_model, gap_model):
    names = standin_model.expression_names
    necks = [animate(speech, SpeakingStyle(blink_rate_hz=rate), names, gap_model, FPS,
                     np.random.default_rng(0)).neck_pose for rate in (0.1, 0.5)]
    assert_allclose(necks[0], necks[1], 1e-9, "neck pose (rad)")


# --- stress, blinks, sway ------------------------------------------------------------------------

def test_stress_pulses_cover_primary_stressed_vowels(speech):
    times = np.arange(0.0, speech.duration_s, 0.005)
    pulse = stress_pulses(speech, times)
    assert pulse.min() >= 0.0 and pulse.max() <= 1.0
    for p in speech.phonemes:
        if p.stress == 2:
            inside = (times >= p.start_s) & (times <= p.end_s)
            assert_allclose(pulse[inside], np.ones(inside.sum()), 1e-12, f"pulse over /{p.symbol}/ at {p.start_s:.3f}")
    flat = Speech(speech.waveform, [dataclasses.replace(p, stress=min(p.stress, 1)) for p in speech.phonemes],
                  speech.words)
    assert not stress_pulses(flat, times).any()


def count_blinks(curve: np.ndarray) -> int:
    closed = (curve > 0.5).astype(np.int8)
    return int((np.diff(np.concatenate([[0], closed])) == 1).sum())


def test_blink_curve():
    times = np.arange(0.0, 300.0, 1 / FPS)
    assert not blink_curve(300.0, 0.0, times, np.random.default_rng(0)).any()
    counts = []
    for rate in (0.1, 0.3, 0.5):
        curve = blink_curve(300.0, rate, times, np.random.default_rng(0))
        assert curve.min() >= 0.0 and curve.max() == pytest.approx(1.0, abs=0.05)
        closed = times[curve > 0.5]
        starts = np.concatenate([[closed[0]], closed[1:][np.diff(closed) > 1.5 / FPS]])
        assert np.diff(starts).min() >= motion.BLINK_REFRACTORY_S - 1 / FPS
        counts.append(count_blinks(curve))
    assert counts[0] < counts[1] < counts[2], counts


def test_blink_rate_is_blinks_per_second():
    rate_hz, duration, fps = 0.5, 2000.0, 20.0  # ~1000 blinks: +-3% (1 sigma); each > 0.5 for 0.16 s
    times = np.arange(0.0, duration, 1 / fps)
    realised = count_blinks(blink_curve(duration, rate_hz, times, np.random.default_rng(0))) / duration
    assert realised == pytest.approx(rate_hz, rel=0.1), f"{realised:.3f} blinks/s for blink_rate_hz {rate_hz}"


def test_head_sway_std():
    times = np.arange(0.0, 3000.0, 1 / FPS)
    sway = head_sway(times, np.random.default_rng(0))
    assert sway.shape == (len(times), 3)
    assert_allclose(sway.std(axis=0), motion.SWAY_RAD, 0.1 * motion.SWAY_RAD.min(), "sway std (rad)")


# --- speakers ------------------------------------------------------------------------------------

def draw(rng, pinned=None, styles=None, speaker_id="S01"):
    return draw_speaker(speaker_id, "train", rng, styles or StyleRanges(), VoiceRanges(), pinned)


def test_draw_speaker_is_deterministic():
    one, two = draw(np.random.default_rng(7)), draw(np.random.default_rng(7))
    assert one == two
    assert draw(np.random.default_rng(8)) != one
    ranges = StyleRanges()
    for field in dataclasses.fields(SpeakingStyle):
        low, high = getattr(ranges, field.name)
        assert low <= getattr(one.style, field.name) <= high, field.name
    assert len(one.shape) == NUM_SHAPE_COMPONENTS and max(map(abs, one.shape)) <= SHAPE_LIMIT
    assert one.voice.variant in VoiceRanges().variants


def test_pinned_fields_override_and_leave_the_rest():
    pinned = {"lip_amplitude": 1.3, "blink_rate_hz": 0.0, "voice": {"variant": "f1", "rate_wpm": 200},
              "shape": [0.5] * NUM_SHAPE_COMPONENTS}
    free, fixed = draw(np.random.default_rng(7)), draw(np.random.default_rng(7), dict(pinned))
    assert fixed.style == dataclasses.replace(free.style, lip_amplitude=1.3, blink_rate_hz=0.0)
    assert fixed.voice == dataclasses.replace(free.voice, variant="f1", rate_wpm=200)
    assert fixed.shape == [0.5] * NUM_SHAPE_COMPONENTS
    assert pinned["voice"] == {"variant": "f1", "rate_wpm": 200}  # the caller's dict is left alone


def test_pinning_one_speaker_leaves_the_next_alone():
    plain, pinned = np.random.default_rng(11), np.random.default_rng(11)
    draw(plain)
    draw(pinned, {"smoothness": 0.7, "voice": {"variant": "m1"}, "shape": [0.0] * NUM_SHAPE_COMPONENTS})
    assert draw(plain, speaker_id="S02") == draw(pinned, speaker_id="S02")


@pytest.mark.parametrize("bounds", [[1.4, 0.6], [1.0], [0.5, 1.0, 1.5]])
def test_bad_style_range(bounds):
    with pytest.raises(PtalkerError, match="lip_amplitude"):
        draw(np.random.default_rng(0), styles=StyleRanges(lip_amplitude=bounds))


@pytest.mark.parametrize("pinned, match", [({"lip_amplitud": 1.0}, "lip_amplitud"),
                                           ({"smoothness": "smooth"}, "smoothness"),
                                           ({"voice": {"rate_wpm": 10}}, "rate_wpm")])
def test_bad_pin(pinned, match):
    with pytest.raises(PtalkerError, match=match):
        draw(np.random.default_rng(0), pinned)


def test_unknown_pinned_voice_field():
    with pytest.raises(PtalkerError, match="pitchh"):
        draw(np.random.default_rng(0), {"voice": {"pitchh": 50}})


def test_pinned_shape_of_wrong_length():
    with pytest.raises(PtalkerError, match="shape"):
        draw(np.random.default_rng(0), {"shape": [0.1, 0.2, 0.3]})


def test_bad_voice_range():
    with pytest.raises(PtalkerError, match="rate_wpm"):
        draw_speaker("S01", "train", np.random.default_rng(0), StyleRanges(), VoiceRanges(rate_wpm=[195, 155]))


def test_speaker_json_round_trip():
    speaker = draw(np.random.default_rng(3))
    data = json.loads(json.dumps(speaker.to_json()))
    back = Speaker.from_json(data)
    assert (back.id, back.split, back.style, back.voice) == (speaker.id, speaker.split, speaker.style, speaker.voice)
    assert_allclose(back.shape, speaker.shape, 5e-7, "shape")
    assert Speaker.from_json(json.loads(json.dumps(back.to_json()))) == back  # stable after one trip
