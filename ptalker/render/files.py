"""``ptalker render``: a vertex-sequence file (:mod:`ptalker.sequence_file`) to an MP4."""

from __future__ import annotations

import os

from ptalker.render.backends import DEFAULT_BACKEND
from ptalker.render.settings import RenderSettings
from ptalker.render.video import VideoResult, render_video
from ptalker.sequence_file import load_sequence, read_sequence

DEFAULT_SIZE = 512
"""Width and height in pixels of each rendered view."""


def render_file(seq: str | os.PathLike, out: str | os.PathLike, audio: str | os.PathLike | None = None,
                compare: str | os.PathLike | None = None, fps: float | None = None,
                faces: str | os.PathLike | None = None, backend: str = DEFAULT_BACKEND,
                size: int = DEFAULT_SIZE) -> VideoResult:
    """Render the sequence file ``seq`` to the MP4 ``out`` (``ptalker render``; see :func:`render_video`).

    Args:
        seq: .npy (T, V, 3) / (T, V*3) or .npz with ``vertices`` (and ``faces``, ``fps``).
        out: the MP4 to write.
        audio: speech file to mux in.
        compare: a ground-truth sequence file of the same mesh: side-by-side video with the error.
        fps, faces: override what the file says (see module doc).
        backend: render backend name.
        size: width and height in pixels of each view.

    Raises:
        PtalkerError: any of the inputs is missing, unreadable or does not fit the others.
    """
    vertices, triangles, rate = read_sequence(seq, fps, faces)
    truth = None if compare is None else load_sequence(compare).vertices
    settings = RenderSettings(width=int(size), height=int(size))
    return render_video(vertices, triangles, out, rate, audio=audio, compare=truth, settings=settings,
                        backend=backend)
