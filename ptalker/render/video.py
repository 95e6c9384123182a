"""MP4 videos (H.264 + AAC) of vertex sequences, through imageio-ffmpeg's bundled ffmpeg.

Frames are streamed to ffmpeg as they are rendered (memory does not grow with the length);
the speech is muxed in by a second, quick ffmpeg call that copies the video stream. Everything
is written in a temporary folder beside the output and renamed onto it at the end: a failed
render never leaves a half-written file and never replaces an existing one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import Iterable

import numpy as np

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, METRES_TO_MM
from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_faces, as_fps, to_vertex_sequence
from ptalker.render.backends import DEFAULT_BACKEND, get_renderer
from ptalker.render.colors import ERROR_CMAP
from ptalker.render.frames import compare_frames, sequence_frames
from ptalker.render.settings import RenderSettings, mesh_bounds

VIDEO_CODEC = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p")
"""H.264 in the pixel format every player decodes; crf 18 is visually lossless for clay renders."""
AUDIO_CODEC = ("-c:a", "aac", "-b:a", "128k", "-ar", "48000")
MP4 = ("-movflags", "+faststart", "-f", "mp4")
"""MP4 container with the index first (plays while downloading); named, as temp files have no .mp4."""


def _ffmpeg() -> str:
    """Path of imageio-ffmpeg's bundled ffmpeg."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise PtalkerError(f"video: imageio-ffmpeg is not installed ({err}); pip install imageio-ffmpeg") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_frame(frame: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    """``frame`` as (H, W, 3) uint8 with even H and W (odd sizes gain a copied last row/column)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise PtalkerError(f"frames: expected (H, W, 3) uint8 images, got {frame.shape} {frame.dtype}")
    if shape is not None and frame.shape != shape:
        raise PtalkerError(f"frames: every frame must have the first one's shape {shape}, got {frame.shape}")
    odd_rows, odd_cols = frame.shape[0] % 2, frame.shape[1] % 2
    if odd_rows or odd_cols:  # yuv420p halves the colour resolution: sizes must be even
        frame = np.pad(frame, ((0, odd_rows), (0, odd_cols), (0, 0)), mode="edge")
    return frame


def _run_ffmpeg(command: list[str], frames: Iterable[np.ndarray] | None, what: str) -> None:
    """Run ffmpeg, writing ``frames`` (raw RGB bytes) to its stdin; ``what`` names a failure."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        try:
            for frame in frames or ():
                process.stdin.write(frame.tobytes())
            process.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its log says why
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.wait() != 0:
            log.seek(0)
            lines = log.read().decode(errors="replace").strip().splitlines() or ["no message"]
            raise PtalkerError(f"{what} ({lines[-1].strip()})")


def _encode(frames: Iterable[np.ndarray], path: Path, fps: float) -> int:
    """Encode ``frames`` to an H.264 MP4 at ``path`` without sound; returns the frame count."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise PtalkerError("frames: no frames to write; give a sequence with at least one frame")
    shape = np.asarray(first).shape
    height, width = _check_frame(first, None).shape[:2]
    count = 0

    def checked() -> Iterable[np.ndarray]:
        nonlocal count
        for frame in chain([first], iterator):
            yield _check_frame(frame, shape)
            count += 1

    rate = str(Fraction(fps).limit_denominator(100_000))
    command = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{width}x{height}", "-r", rate, "-i", "-", "-an", *VIDEO_CODEC, *MP4, str(path)]
    _run_ffmpeg(command, checked(), "video: ffmpeg could not encode the frames")
    return count


def _audio_file(audio: str | os.PathLike | np.ndarray, folder: Path) -> Path:
    """A file ffmpeg reads: the given path, or (S,) float32 16 kHz samples written as WAV in ``folder``."""
    if isinstance(audio, (str, os.PathLike)):
        return Path(audio)
    import soundfile

    from ptalker.audio.io import check_waveform

    path = folder / "speech.wav"
    soundfile.write(str(path), check_waveform(audio, "audio"), AUDIO_SAMPLE_RATE_HZ, subtype="FLOAT")
    return path


def _mux(video: Path, audio: Path, out: Path, seconds: float, source: str) -> None:
    """Copy ``video``'s stream and add ``audio`` as AAC, cut to ``seconds``, into ``out``."""
    command = [_ffmpeg(), "-y", "-loglevel", "error", "-i", str(video), "-i", str(audio),
               "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *AUDIO_CODEC, "-t", f"{seconds:.6f}",
               *MP4, str(out)]
    _run_ffmpeg(command, None, f"{source}: ffmpeg could not add this audio; give a WAV, FLAC or MP3 file "
                               "with a sound track")


def write_video(frames: Iterable[np.ndarray], out: str | os.PathLike, fps: float,
                audio: str | os.PathLike | np.ndarray | None = None) -> int:
    """Write ``frames`` as an H.264 MP4 at ``out`` with ``audio`` muxed in as AAC; atomically.

    Args:
        frames: (H, W, 3) uint8 images, all of one size (odd sizes get a copied last row/column).
        out: the MP4 to write; replaced only when everything succeeded.
        fps: frames per second.
        audio: an audio file ffmpeg reads, or (S,) float32 samples at 16 kHz, or None (silent).
            Audio longer than the video is cut; shorter audio ends early.

    Returns:
        The number of frames written.

    Raises:
        PtalkerError: no frames, frames of mixed sizes, a missing or unreadable audio file, ffmpeg failing.
    """
    out, fps = Path(out), as_fps(fps)
    from_file = isinstance(audio, (str, os.PathLike))
    if from_file and not Path(audio).is_file():
        raise PtalkerError(f"{audio}: audio file not found; check the --audio path")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as folder:
        folder = Path(folder)
        video = folder / "video.mp4"
        count = _encode(frames, video, fps)
        if audio is not None:
            muxed = folder / "muxed.mp4"
            _mux(video, _audio_file(audio, folder), muxed, count / fps, str(audio) if from_file else "audio")
            video = muxed
        os.replace(video, out)
    return count


@dataclass
class VideoResult:
    """What :func:`render_video` wrote."""

    path: Path
    frames: int
    fps: float
    seconds: float
    """Length of the video."""
    render_fps: float
    """Frames rendered and encoded per second of wall time."""

    def __str__(self) -> str:
        return (f"wrote {self.path}: {self.frames} frames at {self.fps:g} fps ({self.seconds:.2f} s), "
                f"rendered at {self.render_fps:.1f} frames/s")


def render_video(vertices: np.ndarray, faces: np.ndarray, out: str | os.PathLike, fps: float,
                 audio: str | os.PathLike | np.ndarray | None = None, compare: np.ndarray | None = None,
                 settings: RenderSettings | None = None, backend: str = DEFAULT_BACKEND,
                 vmax_mm: float | None = None, units_to_mm: float = METRES_TO_MM,
                 cmap: str = ERROR_CMAP) -> VideoResult:
    """Render a vertex sequence to an MP4 with sound (see :func:`write_video`).

    Args:
        vertices: (T, V, 3) or (T, V*3) sequence (the prediction when comparing).
        faces: (F, 3) triangles.
        out: the MP4 to write.
        fps: frames per second of ``vertices``.
        audio: speech to mux in: a file, (S,) float32 samples at 16 kHz, or None.
        compare: optional (T', V, 3) ground truth. Frames are then twice as wide: the prediction
            coloured by its per-vertex error (a colour bar in millimetres beside it) and the
            truth in plain clay. Sequences of different lengths are cut to the shorter one, as
            the lip-vertex error does.
        settings: image size, camera, lights, colours (default :class:`RenderSettings`).
        backend: a name from :func:`~ptalker.render.available_backends`.
        vmax_mm: error at the top of the colour scale (default: from the errors).
        units_to_mm: millimetres per vertex unit (1000 for metres, as VOCASET).
        cmap: matplotlib colour map of the error.

    Raises:
        PtalkerError: bad shapes, faces that do not fit the vertices, a bad fps, audio or backend.
    """
    vertices = to_vertex_sequence(np.asarray(vertices), None, "vertices")
    faces, fps = as_faces(faces, vertices.shape[1]), as_fps(fps)
    settings = settings if settings is not None else RenderSettings()
    truth = None if compare is None else _ground_truth(compare, vertices.shape[1])
    if truth is not None:
        length = min(len(vertices), len(truth))
        vertices, truth = vertices[:length], truth[:length]
    bounds = mesh_bounds(settings.framed(vertices if truth is None else np.concatenate([vertices, truth])))
    start = time.perf_counter()
    with get_renderer(backend, faces, settings, bounds) as renderer:
        frames = (sequence_frames(renderer, vertices) if truth is None else
                  compare_frames(renderer, vertices, truth, vmax_mm, units_to_mm, cmap))
        count = write_video(frames, out, fps, audio)
    elapsed = time.perf_counter() - start
    return VideoResult(Path(out), count, fps, count / fps, count / elapsed)


def _ground_truth(compare: np.ndarray, num_vertices: int) -> np.ndarray:
    """``compare`` as (T, V, 3) float32 with the prediction's vertex count."""
    truth = to_vertex_sequence(np.asarray(compare), None, "compare")
    if truth.shape[1] != num_vertices:
        raise PtalkerError(f"compare: the ground truth has {truth.shape[1]} vertices but the sequence has "
                           f"{num_vertices}; compare sequences of the same mesh")
    return truth
