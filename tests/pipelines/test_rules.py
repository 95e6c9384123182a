"""The rule-based animator: phones -> visemes -> stand-in vertices."""

from pathlib import Path

import numpy as np
import pytest

from ptalker.audio.timeline import Phoneme, Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.evaluation.sync import sync_score
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.pipelines.rules import RuleAnimator

ARCTIC = Path(__file__).parents[1] / "audio" / "data" / "arctic_a0009.wav"


@pytest.fixture(scope="module")
def rules(standin_dir):
    return RuleAnimator(standin_dir)


def test_closes_at_bilabials_opens_at_vowels_and_holds_the_head(rules, standin_sets, standin_template):
    phones = [("_", 0.0, 0.3), ("m", 0.3, 0.4), ("A:", 0.4, 0.6), ("p", 0.6, 0.7), ("a", 0.7, 0.9), ("v", 0.9, 1.0),
              ("A:", 1.0, 1.2), ("_", 1.2, 1.5)]
    speech = Speech(np.zeros(int(1.5 * AUDIO_SAMPLE_RATE_HZ), np.float32),
                    [Phoneme(s, 0, a, b, -1 if s == "_" else 0) for s, a, b in phones], [])
    animation = rules.animate_speech(speech)
    assert animation.vertices.shape == (45, len(standin_template), 3) and animation.fps == 30.0
    head = remove_head_motion(animation.vertices, standin_template, standin_sets.rigid)
    assert np.degrees(np.linalg.norm(head.rotation, axis=1)).max() < 0.1  # the head holds still
    score = sync_score(animation.vertices, 30.0, speech.waveform, speech, standin_sets, standin_template, "timeline")
    assert score.bilabial_closure == 1.0 and score.labiodental_contact == 1.0
    assert score.open_vowel_gap_mm > 5.0


def test_animates_a_real_recording_from_its_transcript(rules, standin_sets, standin_template):
    animation = rules.animate(ARCTIC, text="He turned sharply, and faced Gregson across the table.")
    assert animation.vertices.shape[0] == 93 and np.isfinite(animation.vertices).all()
    hiss = np.random.default_rng(0).normal(0.0, 1e-4, AUDIO_SAMPLE_RATE_HZ).astype(np.float32)
    quiet = rules.animate(hiss)  # room tone, no speech: the mouth stays shut
    gaps = sync_score(quiet.vertices, 30.0, hiss, Speech(hiss, [Phoneme("m", 0, 0.0, 1.0, 0)], []), standin_sets,
                      standin_template, "timeline")
    assert gaps.bilabial_gap_mm < 0.1
