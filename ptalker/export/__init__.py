"""Writers that carry an animation to other tools: glTF (.glb), PC2/MDD point caches, OBJ/PLY
sequences, .npz/.npy. Start from :func:`export_sequence`; see :mod:`ptalker.export.dispatch`.

>>> from ptalker.export import export_sequence
>>> print(export_sequence(vertices, faces, 30, "clip.glb", audio="speech.wav"))
"""

from __future__ import annotations

from ptalker.export.dispatch import FOLDER_FORMATS, FORMATS, ExportResult, export_sequence, format_from_suffix

__all__ = ["FOLDER_FORMATS", "FORMATS", "ExportResult", "export_sequence", "format_from_suffix"]
