"""A data set's phone timelines for the phonetic channel (ptalker data phones)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ptalker.data.phones import load_phones, phones_path, prepare_phones
from ptalker.errors import PtalkerError

ARCTIC_WAV = Path(__file__).parents[1] / "audio" / "data" / "arctic_a0009.wav"


def test_recognized_and_aligned_timelines_are_written_once(tmp_path):
    (tmp_path / "wav").mkdir()
    (tmp_path / "align").mkdir()
    for stem in ("S01_a", "S01_b"):
        shutil.copy(ARCTIC_WAV, tmp_path / "wav" / f"{stem}.wav")
    (tmp_path / "align" / "S01_a.json").write_text(json.dumps({"text": "He turned sharply, and faced Gregson "
                                                                       "across the table."}))
    assert prepare_phones(tmp_path) == 2
    recognized, aligned = load_phones(tmp_path, "S01_a")
    assert [w.text for w in aligned.words][:3] == ["he", "turned", "sharply"] and not recognized.words
    assert load_phones(tmp_path, "S01_b")[1] is None  # no text: recognition only
    assert prepare_phones(tmp_path) == 0  # done ones are kept
    with pytest.raises(PtalkerError, match="ptalker data phones --data"):
        load_phones(tmp_path, "S02_c")
    assert phones_path(tmp_path, "S01_a").is_file()


def test_a_folder_without_audio_is_a_clear_error(tmp_path):
    with pytest.raises(PtalkerError, match="no .wav files"):
        prepare_phones(tmp_path)


def test_a_corpus_timeline_is_the_true_phones_renamed_to_their_classes(tmp_path):
    from ptalker.audio.phones import SOUND_CLASS
    from ptalker.audio.timeline import Phoneme, Speech
    from ptalker.data.phones import canonical_timeline, sound_class
    from ptalker.fileio import save_json

    assert [sound_class(s) for s in ("m-", "@2", "O2", "a#", "l", "s", "w", "j", "_:", "???")] == \
        ["bilabial", "mid", "rounded", "open", "alveolar", "alveolar", "rounded", "front", "pause", "pause"]
    espeak = Speech(np.zeros(0, np.float32),
                    [Phoneme("_:", 0, 0.0, 0.2, -1), Phoneme("m-", 0, 0.2, 0.3, 0), Phoneme("a#", 1, 0.3, 0.5, 0)],
                    [])
    renamed = canonical_timeline(espeak)
    assert [SOUND_CLASS.get(p.symbol, "pause") for p in renamed.phonemes] == ["pause", "bilabial", "open"]
    assert [(p.start_s, p.end_s) for p in renamed.phonemes] == [(0.0, 0.2), (0.2, 0.3), (0.3, 0.5)]
    (tmp_path / "wav").mkdir()
    shutil.copy(ARCTIC_WAV, tmp_path / "wav" / "S01_c.wav")
    save_json(tmp_path / "align" / "S01_c.json", {"text": "anything", **espeak.to_json()})
    prepare_phones(tmp_path)
    assert [p.symbol for p in load_phones(tmp_path, "S01_c")[1].phonemes] == [p.symbol for p in renamed.phonemes]
