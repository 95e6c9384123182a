"""The shipped checkpoint on a real human recording: the lips close at most of its /p b m/."""

from pathlib import Path

import pytest

from ptalker.audio.io import load_audio
from ptalker.audio.phones import align_transcript
from ptalker.evaluation.sync import sync_score
from ptalker.pipelines.animator import load_model

RECORDING = Path(__file__).parents[1] / "audio" / "data" / "austen_0920.wav"
TEXT = "had he married a more a amiable woman he might have been made still more respectable than he was"


@pytest.mark.slow
@pytest.mark.parametrize("text", [TEXT, None], ids=["transcript", "recognized"])
def test_default_checkpoint_closes_at_most_bilabials_of_real_speech(text, standin_sets):
    model = load_model()
    audio = load_audio(RECORDING)
    animation = model.animate(audio, text=text)
    truth = align_transcript(audio, TEXT)  # scored against the aligned phones either way
    score = sync_score(animation.vertices, animation.fps, audio, truth, standin_sets, model.topology.template,
                       "transcript")
    assert score.bilabials == 11
    assert score.bilabial_closure > 0.5, score.table()
