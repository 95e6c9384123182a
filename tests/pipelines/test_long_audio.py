"""Long speech in bounded memory: the decoder's vertices block by block (``Animator.animate_blocks``)
written block by block (``write_streamed``, ``npy_writer``, ``mesh_sequence_writer``), the same
numbers and bytes as the whole-array path; ``ptalker animate`` takes this path when it can."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.fileio import npy_writer, save_npy
from ptalker.pipelines.animator import OVERLAP_FRAMES, WINDOW_FRAMES, Animator, load_model
from ptalker.pipelines.outputs import write_outputs, write_streamed

SECONDS = 23.0
"""Three decoder windows (10 s each, 1 s shared)."""


@pytest.fixture(scope="module")
def speech():
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * SECONDS)) / 16000
    return (0.2 * np.sin(2 * np.pi * 3 * t) * rng.normal(size=t.size)).astype(np.float32)


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_blocks_are_the_whole_animation_bit_for_bit(tiny_trained, speech):
    animator = load_model(tiny_trained.checkpoint, phones=False)
    whole = animator.animate(speech, "S01").vertices
    num_frames, blocks = animator.animate_blocks(speech, "S01")
    blocks = list(blocks)
    assert num_frames == len(whole) > 2 * WINDOW_FRAMES
    step = WINDOW_FRAMES - OVERLAP_FRAMES
    assert [len(b) for b in blocks] == [step, step, num_frames - 2 * step]
    assert np.array_equal(np.concatenate(blocks), whole), "blocks differ from the whole-array decode"


def test_streamed_files_equal_the_whole_array_files(tiny_trained, speech, tmp_path):
    animator = load_model(tiny_trained.checkpoint, phones=False)
    whole = animator.animate(speech[:16000 * 12]).vertices
    faces = animator.topology.faces
    formats = ("npy", "obj")
    write_outputs(whole, faces, 30.0, tmp_path / "whole", speech, formats)
    pieces = [whole[:100], whole[100:101], whole[101:]]
    written = write_streamed(iter(pieces), len(whole), faces, 30.0, tmp_path / "streamed", formats)
    assert [p.name for p in written] == ["vertices.npy", "sequence.json", "animation.npy", "obj"]
    whole_files, streamed_files = _files(tmp_path / "whole"), _files(tmp_path / "streamed")
    assert sorted(whole_files) == sorted(streamed_files) and len(whole_files) == len(whole) + 4
    assert all(whole_files[name] == streamed_files[name] for name in whole_files), "bytes differ"


def test_a_short_stream_writes_nothing(tiny_trained, tmp_path):
    faces = load_model(tiny_trained.checkpoint, phones=False).topology.faces
    frames = np.zeros((5, int(faces.max()) + 1, 3), np.float32)
    with pytest.raises(PtalkerError, match="4 frames were written of the 5|4 rows were written of the 5"):
        write_streamed(iter([frames[:4]]), 5, faces, 30.0, tmp_path / "out", ("obj",))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(PtalkerError, match="need the whole sequence"):
        write_streamed(iter([frames]), 5, faces, 30.0, tmp_path / "out", ("glb",))


def test_npy_writer_is_save_npy_in_pieces(tmp_path):
    array = np.random.default_rng(1).normal(size=(7, 4, 3)).astype(np.float32)
    save_npy(tmp_path / "whole.npy", array)
    with npy_writer(tmp_path / "pieces.npy", array.shape) as write:
        write(array[:3])
        write(array[3:])
    assert (tmp_path / "pieces.npy").read_bytes() == (tmp_path / "whole.npy").read_bytes()
    with pytest.raises(PtalkerError, match="does not fit"):
        with npy_writer(tmp_path / "bad.npy", array.shape) as write:
            write(array[:, :2])
    with pytest.raises(PtalkerError, match="6 rows were written of the 7"):
        with npy_writer(tmp_path / "short.npy", array.shape) as write:
            write(array[:6])
    assert not (tmp_path / "bad.npy").exists() and not (tmp_path / "short.npy").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left"


def test_animate_writes_block_by_block_when_it_can(tiny_trained, speech, tmp_path, monkeypatch):
    """npy/obj without controls or video never hold the whole sequence (Animator.animate is not
    called), and the files are those the whole-array path writes."""
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, speech, 16000, subtype="FLOAT")
    animator = load_model(tiny_trained.checkpoint, phones=False)
    write_outputs(animator.animate(wav, "S02").vertices, animator.topology.faces, animator.fps, tmp_path / "reference",
                  wav, ("npy", "obj"))

    def whole_array(*args, **kwargs):
        raise AssertionError("the whole-array path was taken")

    monkeypatch.setattr(Animator, "animate", whole_array)
    assert main(["animate", str(wav), "--checkpoint", str(tiny_trained.checkpoint), "--audio-only", "--speaker", "S02",
                 "--format", "npy", "obj", "--out", str(tmp_path / "blocks")]) == 0
    reference, blocks = _files(tmp_path / "reference"), _files(tmp_path / "blocks")
    assert sorted(reference) == sorted(set(blocks) - {"ptalker_output.json"})
    assert all(reference[name] == blocks[name] for name in reference)
