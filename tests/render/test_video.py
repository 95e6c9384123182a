"""MP4 writing and render_video (single and side by side), on short clips and small frames."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import trimesh
from helpers import probe_video as probe

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.render import RenderSettings, render_video, write_video

SIZE = 64
FPS = 25.0
FRAMES = 12


def speech(seconds: float) -> np.ndarray:
    """(S,) float32 tone at 16 kHz."""
    t = np.arange(int(seconds * AUDIO_SAMPLE_RATE_HZ)) / AUDIO_SAMPLE_RATE_HZ
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def gradient_frames(count: int, height: int = SIZE, width: int = SIZE):
    for index in range(count):
        yield np.full((height, width, 3), 10 * index, np.uint8)


@pytest.fixture(scope="module")
def sphere_sequence():
    """(FRAMES, V, 3) float32 pulsing icosphere and its (F, 3) faces."""
    mesh = trimesh.creation.icosphere(subdivisions=2)
    scale = 1.0 + 0.1 * np.sin(np.arange(FRAMES) / 3.0)
    return (np.asarray(mesh.vertices)[None] * scale[:, None, None]).astype(np.float32), np.asarray(mesh.faces)


def test_write_video_with_audio_samples(tmp_path):
    out = tmp_path / "clip.mp4"
    assert write_video(gradient_frames(FRAMES), out, FPS, audio=speech(2.0)) == FRAMES
    info = probe(out)
    assert (info["video"], info["audio"], info["size"], info["yuv420p"]) == ("h264", "aac", (SIZE, SIZE), True)
    assert info["frames"] == FRAMES
    assert abs(info["seconds"] - FRAMES / FPS) < 0.05, "the longer audio is cut to the video"
    assert [path.name for path in tmp_path.iterdir()] == ["clip.mp4"], "no temporary files left"


def test_write_video_audio_file_and_odd_size(tmp_path):
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, speech(0.2), AUDIO_SAMPLE_RATE_HZ)
    out = tmp_path / "odd.mp4"
    write_video(gradient_frames(FRAMES, 33, 47), out, FPS, audio=wav)
    info = probe(out)
    assert info["size"] == (48, 34), "odd sizes are padded to even"
    assert info["audio"] == "aac" and info["frames"] == FRAMES


def test_write_video_errors(tmp_path):
    with pytest.raises(PtalkerError, match="no frames"):
        write_video(iter(()), tmp_path / "a.mp4", FPS)
    with pytest.raises(PtalkerError, match="missing.wav: audio file not found"):
        write_video(gradient_frames(2), tmp_path / "a.mp4", FPS, audio=tmp_path / "missing.wav")
    with pytest.raises(PtalkerError, match="every frame must have the first one's shape"):
        write_video([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], tmp_path / "a.mp4", FPS)
    with pytest.raises(PtalkerError, match="fps"):
        write_video(gradient_frames(2), tmp_path / "a.mp4", 0)
    assert not any(tmp_path.iterdir())


def test_failures_leave_an_existing_output_untouched(tmp_path):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"the user's video")

    def broken_frames():
        yield from gradient_frames(3)
        raise PtalkerError("renderer broke")

    with pytest.raises(PtalkerError, match="renderer broke"):
        write_video(broken_frames(), out, FPS)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not a sound file")
    with pytest.raises(PtalkerError, match="notes.wav: ffmpeg could not add this audio"):
        write_video(gradient_frames(3), out, FPS, audio=not_audio)
    assert out.read_bytes() == b"the user's video"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4", "notes.wav"]


def test_render_video(tmp_path, sphere_sequence):
    vertices, faces = sphere_sequence
    settings = RenderSettings(width=SIZE, height=SIZE)
    result = render_video(vertices.reshape(FRAMES, -1), faces, tmp_path / "clip.mp4", FPS, audio=speech(1.0),
                          settings=settings)
    info = probe(result.path)
    assert (info["video"], info["audio"], info["size"], info["frames"]) == ("h264", "aac", (SIZE, SIZE), FRAMES)
    assert (result.frames, result.fps, result.seconds) == (FRAMES, FPS, FRAMES / FPS) and result.render_fps > 0
    assert str(result).startswith(f"wrote {result.path}: {FRAMES} frames at 25 fps (0.48 s)")


def test_render_video_compare_is_double_width_and_cut_to_the_shorter(tmp_path, sphere_sequence):
    vertices, faces = sphere_sequence
    truth = vertices[: FRAMES - 4] * 1.01
    result = render_video(vertices, faces, tmp_path / "compare.mp4", FPS, compare=truth,
                          settings=RenderSettings(width=SIZE, height=SIZE))
    info = probe(result.path)
    assert info["size"] == (2 * SIZE, SIZE) and info["frames"] == FRAMES - 4 == result.frames
    assert info["audio"] is None
    with pytest.raises(PtalkerError, match="compare: the ground truth has 3 vertices"):
        render_video(vertices, faces, tmp_path / "bad.mp4", FPS, compare=np.zeros((FRAMES, 3, 3)))
    with pytest.raises(PtalkerError, match="faces: indices span"):
        render_video(vertices, faces + 1000, tmp_path / "bad.mp4", FPS)
