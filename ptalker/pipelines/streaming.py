"""Streaming: speech arrives in chunks, frames leave as soon as they are determined.

PTalker's decoder looks at both sides of a frame (its audio encoder attends over the whole clip,
its decoder a few frames ahead), so a frame is final only once some audio after it has arrived.
:class:`FrameStream` waits for ``lookahead_frames`` frames of audio beyond a frame, then decodes
a window of the latest audio (``context_frames`` already emitted frames before the new ones, for
the encoder's context) and emits the frames it has not emitted yet; each frame is emitted once.

Algorithmic latency (what the method adds, compute time aside): a frame's audio must be
complete, plus the lookahead, and the audio arrives a chunk at a time, so the worst case is
``chunk + (lookahead_frames + 1) / fps`` (:meth:`StreamSettings.latency_s`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError


@dataclass
class StreamSettings:
    """How long a frame waits for audio after it, and how much audio before it is decoded again."""

    lookahead_frames: int = 3
    """Frames of audio after a frame that must have arrived before the frame is emitted."""
    context_frames: int = 60
    """Frames before the first unemitted one that each window decodes again (2 s at 30 fps)."""

    def __post_init__(self) -> None:
        if self.lookahead_frames < 0 or self.context_frames < 0:
            raise PtalkerError(f"stream settings: lookahead_frames {self.lookahead_frames} and context_frames "
                               f"{self.context_frames} must be 0 or more")

    def latency_s(self, chunk_s: float, fps: float) -> float:
        """Worst-case seconds from a moment of speech to its frame, for chunks of ``chunk_s`` seconds."""
        return chunk_s + (self.lookahead_frames + 1) / fps


class FrameStream:
    """Audio chunks in, newly determined frames out.

    Args:
        decode: ``decode(audio (S,) float32 at 16 kHz, frames) -> (frames, V, 3)`` offsets of a
            window whose audio spans exactly ``frames`` frames.
        fps: frame rate of the motion.
        num_vertices: V of the output.
        settings: lookahead and context (see :class:`StreamSettings`).
    """

    def __init__(self, decode: Callable[[np.ndarray, int], np.ndarray], fps: float, num_vertices: int,
                 settings: StreamSettings | None = None) -> None:
        self.decode, self.fps, self.num_vertices = decode, fps, num_vertices
        self.settings = settings or StreamSettings()
        self.samples_per_frame = AUDIO_SAMPLE_RATE_HZ / fps
        self.buffer = np.zeros(0, np.float32)
        """The audio from frame ``buffer_frame`` on (older audio is never decoded again)."""
        self.buffer_frame = 0
        self.received = 0
        """Samples received so far."""
        self.emitted = 0
        """Frames emitted so far."""
        self.chunks = 0
        self.finished = False

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """(n, V, 3) offsets of the frames ``chunk`` (S,) float32 at 16 kHz determines (n may be 0)."""
        if self.finished:
            raise PtalkerError("audio stream: a chunk came after finish(); start a new stream for new speech")
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1 or not np.isfinite(chunk).all():
            raise PtalkerError(f"audio chunk {self.chunks}: expected a 1-D array of finite "
                               f"samples at {AUDIO_SAMPLE_RATE_HZ} Hz, got shape {chunk.shape}")
        self.buffer = np.concatenate([self.buffer, chunk])
        self.received += len(chunk)
        self.chunks += 1
        complete = int(self.received // self.samples_per_frame)  # frames whose audio has fully arrived
        return self._emit(complete - self.settings.lookahead_frames, complete)

    def finish(self) -> np.ndarray:
        """(n, V, 3) offsets of the remaining frames, once no more audio comes; as many frames in all
        as offline decoding gives."""
        total = max(1, round(self.received / self.samples_per_frame))
        if self.received == 0:
            raise PtalkerError("audio stream: no audio arrived; send at least one chunk of speech")
        self.finished = True
        return self._emit(total, total)

    def _emit(self, stop: int, window_end: int) -> np.ndarray:
        """Decode frames up to ``window_end`` and return the unemitted ones before ``stop``."""
        if stop <= self.emitted:
            return np.zeros((0, self.num_vertices, 3), np.float32)
        start = max(0, self.emitted - self.settings.context_frames)  # >= buffer_frame
        first = int(start * self.samples_per_frame) - int(self.buffer_frame * self.samples_per_frame)
        last = int(round(window_end * self.samples_per_frame)) - int(self.buffer_frame * self.samples_per_frame)
        audio = self.buffer[first:last]  # the last frame's audio may end early, as offline
        offsets = self.decode(audio, window_end - start)  # (W, V, 3)
        frames = offsets[self.emitted - start:stop - start]
        self.emitted = stop
        keep_from = max(0, self.emitted - self.settings.context_frames)
        drop = int(keep_from * self.samples_per_frame) - int(self.buffer_frame * self.samples_per_frame)
        self.buffer, self.buffer_frame = self.buffer[drop:], keep_from
        return frames


def split_chunks(audio: np.ndarray, chunk_s: float) -> list[np.ndarray]:
    """``audio`` (S,) cut into consecutive chunks of ``chunk_s`` seconds (the last may be shorter)."""
    if not chunk_s > 0:
        raise PtalkerError(f"chunk length {chunk_s} s: must be positive, e.g. 0.2")
    size = max(1, int(round(chunk_s * AUDIO_SAMPLE_RATE_HZ)))
    return [audio[i:i + size] for i in range(0, len(audio), size)]
