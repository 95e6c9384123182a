"""The whole-face corpus (ptalker/data/synth/whole_face.py): emotion labels, heard and seen; blinks
at the speaker's rate; gaze in FLAME's eye joints; config checks; corpora without it unchanged.

A module corpus of 2 training speakers x 3 sentences, the sentences cycling through neutral,
happy and angry, so every speaker has one of each.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import TINY_CORPUS
from scipy.spatial.transform import Rotation

from ptalker.controls.procedural import GAZE_LIMIT_DEG
from ptalker.data.synth.corpus import generate_corpus, load_alignment, load_speakers, load_synth_config
from ptalker.data.synth.espeak import Voice
from ptalker.data.synth.motion import REQUIRED_COMPONENTS
from ptalker.data.synth.whole_face import SentenceEmotion, emotional_voice
from ptalker.errors import PtalkerError
from ptalker.flame.expressions import BLINKS, control_expressions

BLINK_RATE_HZ = {"S01": 0.6, "S02": 0.4}
WHOLE_FACE = ["name=whole", "seed=3", "speakers={train: 2}", "sentences=3", "heldout_from=3", "shared=0",
              "whole_face={emotions: [neutral, happy, angry], intensity: [0.5, 1.0]}",
              "pinned={" + ", ".join(f"{s}: {{blink_rate_hz: {r}}}" for s, r in BLINK_RATE_HZ.items()) + "}"]
STEMS = [f"S0{s}_sentence0{n}" for s in (1, 2) for n in (1, 2, 3)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, standin_dir):
    root = tmp_path_factory.mktemp("whole_face") / "whole"
    report = generate_corpus(root, load_synth_config(None, WHOLE_FACE))
    assert report.sequences == 6
    return root


def params(root, stem: str) -> dict[str, np.ndarray]:
    with np.load(root / "params_npy" / f"{stem}.npz", allow_pickle=False) as data:
        return dict(data)


def test_labels_written(corpus):
    for speaker in load_speakers(corpus).values():
        assert speaker.habits is not None and 0.5 <= speaker.habits.gaze_activity <= 1.5
    for speaker_id in ("S01", "S02"):
        emotions = [load_alignment(corpus, f"{speaker_id}_sentence0{n}").emotion for n in (1, 2, 3)]
        assert sorted(e.label for e in emotions) == ["angry", "happy", "neutral"], "labels not balanced"
        for number, emotion in zip((1, 2, 3), emotions):
            assert emotion.intensity == 0.0 if emotion.label == "neutral" else 0.5 <= emotion.intensity <= 1.0
            stored = params(corpus, f"{speaker_id}_sentence0{number}")
            assert str(stored["emotion"]) == emotion.label
            assert stored["emotion_intensity"] == pytest.approx(emotion.intensity, abs=1e-6)


def test_emotion_offset_on_the_face(corpus, standin_model):
    names = standin_model.expression_names
    vectors = control_expressions(standin_model)
    emotion_only = [i for i, n in enumerate(names) if n not in REQUIRED_COMPONENTS]  # speech never moves these
    assert any(vectors["happy"][emotion_only]) and any(vectors["angry"][emotion_only])
    for stem in STEMS:
        emotion = load_alignment(corpus, stem).emotion
        expression = params(corpus, stem)["expression"]  # (T, K)
        offset = emotion.intensity * vectors[emotion.label]
        difference = np.abs(expression[:, emotion_only] - offset[emotion_only]).max()
        assert difference < 1e-6, f"{stem} ({emotion.label}): emotion-only components off by {difference}"
        brow = names.index("brow_raise")  # stress pulses only raise it; the lead-in has none
        assert expression[:, brow].min() == pytest.approx(offset[brow], abs=1e-6)
        if emotion.label == "neutral":
            assert not np.any(expression[:, emotion_only])


def test_blinks_at_the_speakers_rate(corpus, standin_model):
    names = standin_model.expression_names
    vectors = control_expressions(standin_model)
    for stem in STEMS:
        emotion = load_alignment(corpus, stem).emotion
        expression = params(corpus, stem)["expression"]
        duration_s = len(expression) / 30.0
        closures = []
        for name in BLINKS:
            rest = emotion.intensity * vectors[emotion.label][names.index(name)]
            closures.append((expression[:, names.index(name)] - rest) / (1.0 - rest))  # (T,) 0..1
        assert np.allclose(closures[0], closures[1], atol=1e-6), "both eyes blink together"
        assert closures[0].min() > -1e-6 and closures[0].max() < 1 + 1e-6
        shut = closures[0] > 0.5
        count = int(np.sum(shut[1:] & ~shut[:-1]) + shut[0])
        expected = BLINK_RATE_HZ[stem[:3]] * duration_s
        assert abs(count - expected) <= 1.0, f"{stem}: {count} blinks in {duration_s:.1f} s, expected {expected:.1f}"


def test_gaze_in_eye_pose(corpus):
    moved = 0.0
    for stem in STEMS:
        eyes = params(corpus, stem)["eye_pose"]  # (T, 6)
        assert np.array_equal(eyes[:, :3], eyes[:, 3:]), "both eyes look the same way"
        yaw, pitch_down, roll = Rotation.from_rotvec(eyes[:, :3]).as_euler("YXZ").T  # pitch up is about -x
        assert np.abs(roll).max() < 1e-6
        assert np.all(np.abs(np.degrees(yaw)) <= GAZE_LIMIT_DEG[0] + 1e-3)
        assert np.all(np.abs(np.degrees(pitch_down)) <= GAZE_LIMIT_DEG[1] + 1e-3)
        moved = max(moved, float(np.abs(eyes).max()))
    assert moved > np.radians(1.0), "the eyes never moved"


def test_emotional_voice():
    voice = Voice(variant="m3", rate_wpm=180, pitch=50, pitch_range=50)
    assert emotional_voice(voice, SentenceEmotion("neutral", 0.0)) == voice
    sad = emotional_voice(voice, SentenceEmotion("sad", 1.0))
    assert sad.pitch < 50 and sad.pitch_range < 50 and sad.rate_wpm < 180
    happy = emotional_voice(voice, SentenceEmotion("happy", 0.5))
    assert happy.pitch > 50 and happy.pitch_range > 50 and happy.rate_wpm > 180
    high = emotional_voice(Voice(pitch=95, pitch_range=90), SentenceEmotion("surprised", 1.0))
    assert (high.pitch, high.pitch_range) == (100, 100), "clipped to espeak's range"


def test_corpus_without_whole_face_has_no_labels(tiny_corpus):
    assert "whole_face" not in json.loads((tiny_corpus / "corpus.json").read_text())["config"]
    assert all(s.habits is None for s in load_speakers(tiny_corpus).values())
    assert load_alignment(tiny_corpus, "S01_sentence01").emotion is None


@pytest.mark.parametrize("section, match", [
    ("{intensity: [0.8, 0.2]}", "whole_face.intensity"), ("{intensity: [0.5, 1.5]}", "whole_face.intensity"),
    ("{emotions: [neutral, joy]}", "whole_face.emotions"), ("{emotions: []}", "whole_face.emotions"),
    ("{gaze_activity: [-1, 1]}", "whole_face.gaze_activity"), ("{blink_duration: [0.1, 1]}", "blink_duration"),
    ("{gaze: 1}", "gaze"),
])
def test_bad_whole_face(tmp_path, section, match):
    with pytest.raises(PtalkerError, match=match):
        generate_corpus(tmp_path / "out", load_synth_config(None, TINY_CORPUS + [f"whole_face={section}"]))
    assert not (tmp_path / "out").exists()
