"""The lip-sync score without motion truth, on sequences built with known lip gaps."""

import json

import numpy as np
import pytest
import soundfile

from ptalker.audio.timeline import Phoneme, Speech
from ptalker.cli import main
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.evaluation.sync import CLOSED_FRACTION, sync_score
from ptalker.fileio import save_json

FPS = 30.0
PHONES = [("_", 0.0, 0.2), ("m", 0.2, 0.3), ("A:", 0.3, 0.5), ("p", 0.5, 0.6), ("a", 0.6, 0.8), ("f", 0.8, 0.9),
          ("A:", 0.9, 1.1), ("b", 1.1, 1.2), ("A:", 1.2, 1.4), ("_", 1.4, 1.8)]
OPEN_M, TUCK_M = 8e-3, 1.5e-3


def _speech() -> Speech:
    rng = np.random.default_rng(0)
    times = np.arange(int(1.8 * AUDIO_SAMPLE_RATE_HZ)) / AUDIO_SAMPLE_RATE_HZ
    loud = np.zeros_like(times)
    for symbol, start, end in PHONES:  # vowels loud, consonants soft, pauses silent
        loud[(times >= start) & (times < end)] = 0.3 if symbol in ("A:", "a") else 0.0 if symbol == "_" else 0.03
    waveform = (loud * rng.standard_normal(times.size)).astype(np.float32)
    return Speech(waveform, [Phoneme(s, 0, a, b, -1 if s == "_" else 0) for s, a, b in PHONES], [])


def _gap_curve(closed_at_bilabials: bool) -> np.ndarray:
    """(T,) wanted lip gap: open at vowels, tucked at /f/; at /p b m/ and in pauses closed, or
    else held 4 mm apart."""
    times = np.arange(int(1.8 * FPS)) / FPS
    gap = np.zeros_like(times)
    for symbol, start, end in PHONES:
        value = {"A:": OPEN_M, "a": OPEN_M, "f": TUCK_M}.get(symbol, 0.0 if closed_at_bilabials else 4e-3)
        gap[(times >= start) & (times < end)] = value
    return gap


def _sequence(template: np.ndarray, sets, gap: np.ndarray) -> np.ndarray:
    """(T, V, 3): the template with its lower lip pulled down by ``gap`` (T,) and the whole head
    turned a little (the score must remove head motion)."""
    from scipy.spatial.transform import Rotation

    frames = np.repeat(template[None], len(gap), axis=0)
    frames[:, sets.lip_lower, 1] -= gap[:, None]
    turn = Rotation.from_euler("y", np.linspace(0.0, 0.1, len(gap))[:, None]).as_matrix()  # (T, 3, 3)
    return np.einsum("tij,tvj->tvi", turn, frames)


@pytest.fixture(scope="module")
def speech():
    return _speech()


def test_lips_closed_at_every_bilabial_score_full_marks(standin_template, standin_sets, speech):
    vertices = _sequence(standin_template, standin_sets, _gap_curve(closed_at_bilabials=True))
    score = sync_score(vertices, FPS, speech.waveform, speech, standin_sets, standin_template, "timeline")
    assert score.bilabials == 3 and score.bilabial_closure == 1.0
    assert score.labiodentals == 1 and score.labiodental_contact == 1.0
    assert score.open_vowel_gap_mm == pytest.approx(OPEN_M * 1000, rel=1e-3)
    assert score.bilabial_gap_mm == pytest.approx(0.0, abs=1e-3)
    assert score.open_vs_closed > 0.1 and score.envelope_correlation > 0.8
    assert score.bilabial_chance < 1.0
    assert score.closed_below_mm == pytest.approx(CLOSED_FRACTION * score.mouth_width_mm)


def test_a_frozen_mouth_scores_zero(standin_template, standin_sets, speech):
    vertices = _sequence(standin_template, standin_sets, np.full(int(1.8 * FPS), 5e-3))
    score = sync_score(vertices, FPS, speech.waveform, speech, standin_sets, standin_template, "timeline")
    assert score.bilabial_closure == 0.0 and score.bilabial_chance == 0.0 and score.labiodental_contact == 0.0
    assert score.open_vs_closed == pytest.approx(0.0, abs=1e-6)
    assert score.jitter == 0.0  # still lips


def test_open_lips_at_bilabials_fail_and_noise_is_jitter(standin_template, standin_sets, speech):
    smooth = _sequence(standin_template, standin_sets, _gap_curve(closed_at_bilabials=False))
    score = sync_score(smooth, FPS, speech.waveform, speech, standin_sets, standin_template, "timeline")
    assert score.bilabial_closure == 0.0 and score.open_vowel_gap_mm > score.bilabial_gap_mm
    noisy_gap = 4e-3 + 2e-3 * np.random.default_rng(1).standard_normal(int(1.8 * FPS))
    noisy = _sequence(standin_template, standin_sets, noisy_gap)
    assert sync_score(noisy, FPS, speech.waveform, speech, standin_sets, standin_template, "timeline").jitter > 2.0


def test_sync_command_writes_json_and_refuses_other_meshes(tmp_path, standin_dir, standin_template, standin_sets,
                                                           speech, capsys):
    soundfile.write(tmp_path / "speech.wav", speech.waveform, AUDIO_SAMPLE_RATE_HZ)
    np.save(tmp_path / "good.npy", _sequence(standin_template, standin_sets, _gap_curve(True)).astype(np.float32))
    save_json(tmp_path / "timeline.json", speech.to_json())
    code = main(["sync", str(tmp_path / "speech.wav"), str(tmp_path / "good.npy"), "--timeline",
                 str(tmp_path / "timeline.json"), "--fps", "30", "--json", str(tmp_path / "sync.json")])
    assert code == 0 and "bilabial closure" in capsys.readouterr().out
    assert json.loads((tmp_path / "sync.json").read_text())["bilabial_closure"] == 1.0
    np.save(tmp_path / "strip.npy", np.zeros((5, 30, 3), np.float32))
    assert main(["sync", str(tmp_path / "speech.wav"), str(tmp_path / "strip.npy"), "--fps", "30"]) == 2
    assert "the sync score needs a sequence on the head's topology" in capsys.readouterr().err
    assert main(["sync", str(tmp_path / "speech.wav"), str(tmp_path / "good.npy"), "--fps", "30",
                 "--text-file", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt: cannot read the transcript" in capsys.readouterr().err
