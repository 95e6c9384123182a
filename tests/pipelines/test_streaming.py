"""Streaming: FrameStream's bookkeeping with a fake decoder that reads the audio's clock, its
errors, the latency formula, Animator.stream against offline animation, ``animate --stream``."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_allclose

from ptalker.errors import PtalkerError
from ptalker.pipelines.streaming import FrameStream, StreamSettings, split_chunks

RATE = 16000
V = 4
MARK = 2
"""The fake decoder reads each frame's clock at this many samples after the frame's first sample."""


class ClockDecoder:
    """A decode function for audio whose sample n holds the number n (a clock): window frame w
    answers, in every (V, 3) entry, the clock MARK samples into its audio, so the frame says which
    absolute frame it is. Records each window's first absolute frame and length."""

    def __init__(self, fps: float) -> None:
        self.samples_per_frame = RATE / fps
        self.windows: list[tuple[int, int]] = []

    def __call__(self, audio: np.ndarray, frames: int) -> np.ndarray:
        assert audio.ndim == 1 and audio.dtype == np.float32
        short = frames * self.samples_per_frame - len(audio)  # the last frame may end early, as offline
        assert -1.5 <= short < self.samples_per_frame / 2 + 1.5, \
            f"a window of {frames} frames came with {len(audio)} samples"
        marks = np.array([audio[int(w * self.samples_per_frame) + MARK] for w in range(frames)])  # (W,)
        self.windows.append((self.frame_of(marks[0]), frames))
        return np.broadcast_to(marks[:, None, None], (frames, V, 3)).astype(np.float32)

    def frame_of(self, clock: float) -> int:
        return int(clock // self.samples_per_frame)


def clock(samples: int) -> np.ndarray:
    return np.arange(samples, dtype=np.float32)  # exact below 2**24 samples


@pytest.mark.parametrize("fps", [30.0, 25.0])
@pytest.mark.parametrize("chunk", [1, 100, 533, 534, 1000, 3333, 10 ** 7])
@pytest.mark.parametrize("settings", [StreamSettings(), StreamSettings(lookahead_frames=0, context_frames=5),
                                      StreamSettings(lookahead_frames=7, context_frames=0)],
                         ids=["default", "no_lookahead", "no_context"])
def test_every_frame_once_in_order(fps, chunk, settings):
    samples = 3 * RATE + 400 if chunk > 1 else RATE // 3 + 300  # ends past mid-frame; 1-sample chunks: shorter
    decoder = ClockDecoder(fps)
    stream = FrameStream(decoder, fps, V, settings)
    samples_per_frame = RATE / fps
    pieces, received = [], 0
    audio = clock(samples)
    for start in range(0, samples, chunk):
        emitted_before = stream.emitted
        windows_before = len(decoder.windows)
        frames = stream.push(audio[start:start + chunk])
        received += len(audio[start:start + chunk])
        assert frames.shape[1:] == (V, 3)
        complete = int(received // samples_per_frame)
        done = sum(len(p) for p in pieces) + len(frames)
        assert done <= max(0, complete - settings.lookahead_frames), \
            f"after {received} samples ({complete} frames), {done} frames out: less than the lookahead"
        assert done == max(emitted_before, complete - settings.lookahead_frames), \
            f"after {received} samples, {done} frames out: frames held back longer than the lookahead"
        if len(decoder.windows) > windows_before:  # each window decodes the context before the new frames
            first, _ = decoder.windows[-1]
            assert first == max(0, emitted_before - settings.context_frames), (first, emitted_before)
        pieces.append(frames)
    pieces.append(stream.finish())
    out = np.concatenate(pieces)  # (T, V, 3)
    total = round(samples / samples_per_frame)
    assert len(out) == total, f"{len(out)} frames for {samples} samples at {fps} fps, offline gives {total}"
    assert (out == out[:, :1, :1]).all()
    got = np.array([decoder.frame_of(value) for value in out[:, 0, 0]])  # which frame each output is
    np.testing.assert_array_equal(got, np.arange(total), err_msg="frames out of order, repeated or missing")


def test_last_frame_may_end_early():
    """Audio that ends a little past the middle of a frame still makes that frame (as offline)."""
    samples_per_frame = RATE / 30
    samples = int(10.6 * samples_per_frame)
    decoder = ClockDecoder(30)
    stream = FrameStream(decoder, 30, V, StreamSettings(lookahead_frames=2, context_frames=3))
    out = np.concatenate([stream.push(clock(samples)), stream.finish()])
    assert len(out) == 11 == round(samples / samples_per_frame)
    assert [decoder.frame_of(v) for v in out[:, 0, 0]] == list(range(11))


def test_latency_formula_bounds_every_frame():
    assert StreamSettings().latency_s(0.2, 30) == pytest.approx(0.2 + 4 / 30)
    assert StreamSettings(lookahead_frames=0).latency_s(0.05, 25) == pytest.approx(0.05 + 1 / 25)
    fps, chunk_s = 30.0, 0.15
    settings = StreamSettings(lookahead_frames=2)
    stream = FrameStream(ClockDecoder(fps), fps, V, settings)
    waits, received, index = [], 0, 0
    for chunk in split_chunks(clock(2 * RATE), chunk_s):
        received += len(chunk)
        for _ in stream.push(chunk):  # emitted when `received` samples have arrived
            waits.append(received / RATE - index / fps)  # since the frame's first moment of speech
            index += 1
    assert index > 40
    bound = settings.latency_s(chunk_s, fps)
    assert max(waits) <= bound + 1e-9, f"a frame waited {max(waits):.4f} s > {bound:.4f} s"
    assert max(waits) > bound - 1 / fps, f"the bound {bound:.4f} s is far from the worst wait {max(waits):.4f} s"


def test_split_chunks():
    audio = np.random.default_rng(0).normal(size=16123).astype(np.float32)
    for chunk_s in (0.0001, 0.1, 0.2, 0.333, 5.0):
        chunks = split_chunks(audio, chunk_s)
        np.testing.assert_array_equal(np.concatenate(chunks), audio)
        assert all(len(c) == len(chunks[0]) for c in chunks[:-1]) and 0 < len(chunks[-1]) <= len(chunks[0])
    assert len(split_chunks(audio, 0.1)[0]) == 1600
    for bad in (0.0, -0.1, float("nan")):
        with pytest.raises(PtalkerError, match="must be positive"):
            split_chunks(audio, bad)


def test_stream_errors():
    stream = FrameStream(ClockDecoder(30), 30, V)
    with pytest.raises(PtalkerError, match="no audio arrived"):
        stream.finish()
    with pytest.raises(PtalkerError, match=r"1-D .*shape \(2, 100\)"):
        stream.push(np.zeros((2, 100), np.float32))
    for bad in (np.nan, np.inf, -np.inf):
        chunk = np.zeros(100, np.float32)
        chunk[37] = bad
        with pytest.raises(PtalkerError, match="finite"):
            stream.push(chunk)
    assert stream.received == 0, "a rejected chunk was kept"
    stream.push(np.ones(1000, np.float32))
    stream.finish()
    with pytest.raises(PtalkerError, match="after finish"):
        stream.push(np.ones(100, np.float32))
    with pytest.raises(PtalkerError, match="0 or more"):
        StreamSettings(lookahead_frames=-1)
    with pytest.raises(PtalkerError, match="0 or more"):
        StreamSettings(context_frames=-2)


# --- the shipped checkpoint ------------------------------------------------------------------


@pytest.fixture(scope="module")
def animator():
    from ptalker.pipelines.animator import DEFAULT_CHECKPOINT, load_model

    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("no shipped checkpoint in this checkout")
    return load_model(phones=False)  # streaming runs the audio-only path: compare like with like


@pytest.fixture(scope="module")
def speech():
    """About 2 s of the shipped (synthesized) demo sentence."""
    from ptalker.audio.io import load_audio
    from ptalker.pipelines.animator import DEFAULT_CHECKPOINT

    return load_audio(DEFAULT_CHECKPOINT.parent / "demo" / "sample.wav")[4000:4000 + 33700]


def test_stream_follows_offline_animation(animator, speech):
    """Streamed frames see less audio than offline ones, so they differ; but they are frame for
    frame closer to the offline animation than the offline animation one frame earlier or later."""
    offline = animator.animate(speech, "S01").vertices
    streamed = np.concatenate(list(animator.stream(split_chunks(speech, 0.5), "S01")))
    assert streamed.shape == offline.shape and streamed.dtype == np.float32
    lips = animator.topology.masks.lips
    a, b = streamed[:, lips], offline[:, lips]  # (T, L, 3)
    error = np.abs(a - b).mean()
    motion = np.abs(b - b.mean(axis=0)).mean()
    detail = f"mean lip difference {error:.3g} (max {np.abs(streamed - offline).max():.3g}), lip motion {motion:.3g}"
    assert error < 0.6 * motion, detail
    for shift in (-1, 1):
        shifted = np.abs(a[max(shift, 0):len(a) + min(shift, 0)] - b[max(-shift, 0):len(b) - max(shift, 0)]).mean()
        assert error < shifted, f"{detail}; but {shifted:.3g} against offline shifted by {shift} frames"


def test_stream_with_whole_clip_lookahead_is_offline(animator, speech):
    """With lookahead and context longer than the clip one window decodes it all, as animate does."""
    clip = speech[:32000]  # 60 frames of exactly 533 1/3 samples
    offline = animator.animate(clip, "S02").vertices
    pieces = list(animator.stream(split_chunks(clip, 0.1), "S02",
                                  settings=StreamSettings(lookahead_frames=1000, context_frames=1000)))
    assert len(pieces) == 1, "nothing is determined before the end"
    assert_allclose(pieces[0], offline, atol=1e-6, what="whole-clip stream vs animate")


def test_stream_with_whole_clip_lookahead_is_offline_when_the_last_frame_ends_early(animator, speech):
    clip = speech[:32300]  # 60.56 frames: 61, the last one 0.56 of a frame long
    offline = animator.animate(clip).vertices
    streamed = np.concatenate(list(animator.stream([clip], settings=StreamSettings(1000, 1000))))
    assert_allclose(streamed, offline, atol=1e-6, what="whole-clip stream vs animate")


def test_animate_stream_cli(animator, speech, tmp_path, capsys, monkeypatch):
    import soundfile

    from ptalker.cli import main
    from ptalker.pipelines import animate_folder

    def cached(checkpoint=None, phones=True, encoder="float"):
        assert checkpoint is None and encoder == "float"
        return animator

    monkeypatch.setattr(animate_folder, "load_model", cached)  # the shipped checkpoint, loaded once
    wav = tmp_path / "speech.wav"
    speech = speech[:RATE + 100]  # 30 frames: 5 chunks of 200 ms and the rest
    soundfile.write(wav, speech, RATE, subtype="FLOAT")
    assert main(["animate", str(wav), "--out", str(tmp_path / "s"), "--stream", "--chunk-ms", "200",
                 "--format", "npy"]) == 0
    printed = capsys.readouterr().out
    assert "latency 333 ms" in printed, printed  # 200 ms chunks + (3 lookahead + 1) frames at 30 fps
    assert main(["animate", str(wav), "--out", str(tmp_path / "o"), "--format", "npy"]) == 0
    assert "latency" not in capsys.readouterr().out
    streamed, offline = (np.load(tmp_path / name / "vertices.npy") for name in ("s", "o"))
    assert streamed.shape == offline.shape == (round(len(speech) / RATE * 30), animator.model.num_vertices, 3)
    np.testing.assert_array_equal(np.load(tmp_path / "s" / "animation.npy").reshape(streamed.shape), streamed)
