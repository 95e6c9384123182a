"""Editing existing animation from Python: re-dub, infill, keyframes, per-region balance.

>>> import ptalker.edit
>>> take = ptalker.edit.redub("performance.npy", "new_line.wav", source_audio="old_line.wav")
>>> take.vertices.shape                                  # (T', V, 3): the new line's length
>>> fixed = ptalker.edit.infill("performance.npy", "old_line.wav", span=(2.0, 3.5),
...                             region_weights={"upper": {"style": 0.0}})

Each function takes a performance as a (T, V, 3) array or a .npy/.npz file of the checkpoint's
mesh (at its frame rate), speech as a path or (S,) float32 at 16 kHz, and returns an
:class:`ptalker.Animation`. The model is the shipped flow checkpoint unless ``model`` (an
:class:`ptalker.pipelines.animator.Animator` of a flow checkpoint) is given. What each edit
keeps and changes: :mod:`ptalker.pipelines.editing`; the balance of audio and style per region:
:mod:`ptalker.pipelines.region_balance`.
"""

from ptalker.pipelines.edit_commands import Key, infill, keyframes, load_key, redub

__all__ = ["Key", "infill", "keyframes", "load_key", "redub"]
