"""The render settings of a preview: the head model's face look for meshes of the head model.

A sequence on the head model's mesh (its vertex count, and the head has the regions the look
needs) is rendered with :func:`ptalker.render.appearance.head_look` (skin, lips, dark mouth,
eyes; framed eyes to chin), any other mesh in plain clay, framed whole.
"""

from __future__ import annotations

from ptalker.errors import PtalkerError
from ptalker.render import RenderSettings
from ptalker.render.appearance import REQUIRED_REGIONS, head_look


def preview_settings(num_vertices: int, size: int, look: str | None = None,
                     framing: str | None = None) -> RenderSettings:
    """:class:`RenderSettings` of a ``size`` x ``size`` preview of a mesh with ``num_vertices`` vertices.

    Args:
        look: ``face`` or ``clay``; None: ``face`` on the head model's mesh, else ``clay``.
        framing: ``face`` (eyes to chin) or ``head`` (the whole mesh); None: the look's default
            (see :func:`~ptalker.render.appearance.head_look`).

    Raises:
        PtalkerError: an unknown look or framing, or the face look or framing asked for a mesh
            that is not the head model's (or a head model without the regions it needs).
    """
    from ptalker.flame.flame_model import head_topology  # loads the head model

    head = head_topology()
    regions = {} if head.masks is None else head.masks.all
    missing = [name for name in REQUIRED_REGIONS if name not in regions]
    if head.num_vertices == num_vertices and not missing:
        return head_look(head.template, head.faces, regions, look=look or "face", framing=framing,
                         width=int(size), height=int(size))
    if look == "face" or framing == "face":
        why = (f"the head model's mesh ({head.num_vertices} vertices), got {num_vertices} vertices"
               if head.num_vertices != num_vertices else f"head regions the head model lacks: {', '.join(missing)}")
        raise PtalkerError(f"look/framing 'face' needs {why}; use look 'clay' and framing 'head'")
    return head_look(head.template, head.faces, regions, look=look or "clay", framing=framing or "head",
                     width=int(size), height=int(size))
