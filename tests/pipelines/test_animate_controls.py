"""Animator.animate and ``ptalker animate`` with the whole-face controls (ptalker.controls)."""

from __future__ import annotations

import numpy as np

from ptalker.cli import main
from ptalker.controls.factors import clip_factors
from ptalker.mesh.stabilize import remove_head_motion


def test_animate_with_controls_keeps_the_lips_and_adds_each_factor(tiny_animator, tiny_corpus):
    audio = str(next((tiny_corpus / "wav").glob("*.wav")))
    plain = tiny_animator.animate(audio)
    controls = {"pose": "generate", "gaze": "generate", "blink": {"rate_per_min": 30},
                "emotion": {"label": "surprised", "intensity": 1.0}, "seed": 4}
    full = tiny_animator.animate(audio, controls=controls)
    assert plain.controls is None and full.controls.emotion == "surprised"
    rig, template = tiny_animator.face_rig, tiny_animator.topology.template
    face = remove_head_motion(full.vertices, template, rig.rigid).aligned
    lips = np.setdiff1d(tiny_animator.topology.masks.lips, rig.eyelids)
    assert np.abs(face[:, lips] - plain.vertices[:, lips]).max() < 3e-3  # m: the emotion's corner offset only
    factors = clip_factors(full.vertices, rig, template)
    assert np.degrees(np.abs(factors.rotation)).max() > 0.5
    assert np.abs(factors.gaze).max() > 1.0
    assert factors.emotion_label == "surprised"
    again = tiny_animator.animate(audio, controls=controls)
    assert np.array_equal(again.vertices, full.vertices)  # seeded


def test_cli_animate_with_controls(tiny_trained, tiny_corpus, tmp_path, capsys):
    audio = str(next((tiny_corpus / "wav").glob("*.wav")))
    out = tmp_path / "out"
    assert main(["animate", audio, "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint), "--pose",
                 "generate", "--blink", "20", "--emotion", "happy:0.5", "--format", "npy"]) == 0
    assert (out / "vertices.npy").is_file()
    assert main(["animate", audio, "--out", str(tmp_path / "bad"), "--checkpoint", str(tiny_trained.checkpoint),
                 "--gaze", "from_clip"]) == 2
    assert "--control-clip" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
