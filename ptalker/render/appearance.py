"""How a head model looks in previews: skin, lips, a dark mouth, eyes with iris and pupil.

The head model's region masks (a FLAME_masks.pkl dict, :attr:`ptalker.mesh.regions.RegionMasks.all`)
and its neutral template place every colour, so the colours belong to vertices and move with
them (eyeballs turn with the gaze, lips open with the jaw):

- skin everywhere;
- lip colour on the vermilion: a shape drawn around the mouth line (a cupid's bow on the upper
  lip, a fuller lower lip) whose size follows the ``lips`` region, with a soft border;
- the inside of the mouth (``mouth`` vertices hidden from the front by the closed lips in the
  template: the stand-in's mouth bag, FLAME's inner lips) dark red-brown, darker with depth,
  and a tongue colour on its floor, so an open mouth shows a dark opening;
- eyeballs (``left_eyeball``, ``right_eyeball``) white, with an iris and a black pupil by each
  vertex's angle to the eyeball's forward axis (+z) in the template.

The face framing (:func:`face_frame_ids`) is the box from the eyes to the chin, so the mouth is
large. :func:`head_look` puts colours, framing and a softer light into :class:`RenderSettings`;
``look="clay"`` gives the plain clay head framed whole, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.render.settings import Light, RenderSettings

LOOKS = ("face", "clay")
"""``face``: skin, lips, mouth and eyes coloured; ``clay``: one plain colour."""
FRAMINGS = ("face", "head")
"""``face``: the eyes to the chin; ``head``: the whole mesh."""

SOFT_LIGHTS = (
    Light(direction=(0.4, 0.6, 1.0), intensity=0.75),    # key: above the camera, a little to image right
    Light(direction=(-0.8, 0.1, 0.6), intensity=0.35),   # fill: image left
    Light(direction=(0.0, -0.3, 1.0), intensity=0.15),   # from below the camera: opens the shadows under the nose
)
SOFT_AMBIENT = 0.22
FACE_FILL = 0.92
"""Share of the frame the face framing's box fills."""
SOFT_SPECULAR = 0.04


@dataclass(frozen=True)
class Palette:
    """sRGB colours in [0, 1] of a head's parts."""

    skin: tuple[float, float, float] = (0.85, 0.69, 0.60)
    lips: tuple[float, float, float] = (0.72, 0.34, 0.35)
    mouth: tuple[float, float, float] = (0.36, 0.10, 0.09)
    """Inside the mouth just behind the lips."""
    mouth_deep: tuple[float, float, float] = (0.10, 0.03, 0.03)
    """The back of the mouth."""
    tongue: tuple[float, float, float] = (0.55, 0.24, 0.24)
    sclera: tuple[float, float, float] = (0.95, 0.94, 0.90)
    iris: tuple[float, float, float] = (0.36, 0.46, 0.58)
    pupil: tuple[float, float, float] = (0.03, 0.03, 0.04)


DEFAULT_PALETTE = Palette()

UPPER_LIP_SHARE, LOWER_LIP_SHARE = 0.62, 0.75
"""Vermilion height at the lips' middle, as a share of the ``lips`` region's extent above / below
the mouth line."""
CUPID_BOW_DEPTH = 0.22
"""The upper lip's dip at the middle, as a share of its height."""
LIP_BORDER = 0.15
"""Half width of the soft vermilion border, as a share of the lip's height."""
LIP_SMOOTHING = 2
"""Neighbour averages of the lip weight (they even out a border drawn across long triangles);
the averaged weight is then steepened again."""
MOUTH_DEPTH_SHARE = 0.5
"""Depth behind the lips (as a share of the mouth's width) at which the mouth is ``mouth_deep``."""
PUPIL_DEG, IRIS_DEG, EYE_EDGE_DEG = 10.0, 31.0, 4.0
"""Angular radii of pupil and iris from the eyeball's forward axis, and their soft edge."""
CHIN_DEPTH = 0.15
"""The chin the face framing holds: front vertices at most this share of the lips' width behind them."""
FORWARD = np.array([0.0, 0.0, 1.0])
"""The face looks along +z (FLAME's axes)."""
REQUIRED_REGIONS = ("lips", "mouth", "eye_region", "left_eyeball", "right_eyeball")


def _smoothstep(edge0: float | np.ndarray, edge1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """0 at ``edge0``, 1 at ``edge1``, a cubic ramp between (either order)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _mix(colors: np.ndarray, ids: np.ndarray, color: tuple[float, float, float], weight: np.ndarray) -> None:
    """Blend ``color`` over ``colors[ids]`` ((V, 3)) by ``weight`` (len(ids),) in [0, 1], in place."""
    weight = np.asarray(weight, dtype=np.float64)[:, None]
    colors[ids] = colors[ids] * (1.0 - weight) + np.asarray(color) * weight


@dataclass(frozen=True)
class _Mouth:
    """Where the mouth is in the template: its middle, half width and lip extents (template units)."""

    center: np.ndarray
    """(3,) the middle of the mouth line; its z is the front of the closed lips."""
    half_width: float
    upper: float
    """Extent of the ``lips`` region above the mouth line."""
    lower: float
    """Extent below it."""

    @classmethod
    def of(cls, template: np.ndarray, masks: Mapping[str, np.ndarray]) -> "_Mouth":
        lips = template[masks["lips"]]
        if "lip_contact_upper" in masks and "mouth_corners" in masks:
            line = template[np.concatenate([masks["lip_contact_upper"], masks["lip_contact_lower"]])]
            corners = template[masks["mouth_corners"]]
            center = np.array([corners[:, 0].mean(), line[:, 1].mean(), line[:, 2].max()])
            half_width = float(np.abs(corners[:, 0] - center[0]).max())
        else:  # a head without the paired sets (FLAME's masks): the lips region's middle and width
            low, high = lips.min(axis=0), lips.max(axis=0)
            center = np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, high[2]])
            half_width = float(high[0] - low[0]) / 2 * 0.9
        return cls(center, half_width, float(lips[:, 1].max() - center[1]), float(center[1] - lips[:, 1].min()))


def _hidden_from_front(template: np.ndarray, faces: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Boolean (len(ids),): a ray from the vertex towards +z hits a triangle not holding it."""
    points = template[ids]  # (N, 3)
    corners = template[faces]  # (F, 3, 3)
    low, high = points.min(axis=0), points.max(axis=0)
    near = ((corners[:, :, 0].max(1) >= low[0]) & (corners[:, :, 0].min(1) <= high[0])
            & (corners[:, :, 1].max(1) >= low[1]) & (corners[:, :, 1].min(1) <= high[1])
            & (corners[:, :, 2].max(1) > low[2]))
    tri, tri_faces = corners[near], faces[near]  # (G, 3, 3), (G, 3)
    a, b, c = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]  # (G, 2)
    p = points[:, None, :2]  # (N, 1, 2)
    den = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])  # (G,)
    den = np.where(np.abs(den) < 1e-18, np.nan, den)
    w0 = ((b[:, 1] - c[:, 1]) * (p[..., 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (p[..., 1] - c[:, 1])) / den
    w1 = ((c[:, 1] - a[:, 1]) * (p[..., 0] - c[:, 0]) + (a[:, 0] - c[:, 0]) * (p[..., 1] - c[:, 1])) / den
    w2 = 1.0 - w0 - w1  # (N, G)
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    z = w0 * tri[:, 0, 2] + w1 * tri[:, 1, 2] + w2 * tri[:, 2, 2]  # (N, G) depth of the hit
    own = (tri_faces[None] == ids[:, None, None]).any(axis=-1)  # (N, G) triangles holding the vertex
    return (inside & ~own & (z > points[:, None, 2])).any(axis=1)


def inner_mouth(template: np.ndarray, faces: np.ndarray, masks: Mapping[str, np.ndarray]) -> np.ndarray:
    """(M,) int64 ids of the mouth's inside: ``mouth`` vertices behind the lips' front that the
    closed-lipped template hides from the front (the stand-in's bag, FLAME's inner lips)."""
    mouth = _Mouth.of(template, masks)
    ids = np.asarray(masks["mouth"], dtype=np.int64)
    ids = ids[template[ids, 2] < mouth.center[2]]
    return ids[_hidden_from_front(template, faces, ids)]


def _lip_weight(points: np.ndarray, mouth: _Mouth) -> np.ndarray:
    """(N,) how much each of ``points`` (N, 3) lies on the vermilion, 0 to 1 (soft border)."""
    u = (points[:, 0] - mouth.center[0]) / mouth.half_width
    dy = points[:, 1] - mouth.center[1]
    across = np.clip(1.0 - u ** 2, 0.0, None)
    upper = UPPER_LIP_SHARE * mouth.upper * across ** 0.5 * (1.0 - CUPID_BOW_DEPTH * np.exp(-(u / 0.12) ** 2))
    lower = LOWER_LIP_SHARE * mouth.lower * across ** 0.45
    height = np.where(dy >= 0, upper, lower)
    border = LIP_BORDER * np.where(dy >= 0, UPPER_LIP_SHARE * mouth.upper, LOWER_LIP_SHARE * mouth.lower)
    return _smoothstep(border, -border, np.abs(dy) - height) * _smoothstep(1.08, 0.92, np.abs(u))


def _eye_colors(points: np.ndarray, palette: Palette) -> np.ndarray:
    """(N, 3) sclera, iris and pupil colours of one eyeball's template ``points`` (N, 3)."""
    center = (points.min(axis=0) + points.max(axis=0)) / 2
    offsets = points - center
    cosine = offsets @ FORWARD / np.maximum(np.linalg.norm(offsets, axis=1), 1e-12)
    angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))  # (N,)
    iris = _smoothstep(IRIS_DEG + EYE_EDGE_DEG, IRIS_DEG - EYE_EDGE_DEG, angle)[:, None]
    pupil = _smoothstep(PUPIL_DEG + EYE_EDGE_DEG, PUPIL_DEG - EYE_EDGE_DEG, angle)[:, None]
    colors = np.asarray(palette.sclera) * (1 - iris) + np.asarray(palette.iris) * iris
    return colors * (1 - pupil) + np.asarray(palette.pupil) * pupil


def _smooth(values: np.ndarray, faces: np.ndarray, steps: int) -> np.ndarray:
    """(V,) ``values`` averaged ``steps`` times with their mesh neighbours (each vertex counts once
    per triangle it shares with a neighbour, itself included)."""
    num = len(values)
    rows = np.repeat(faces, 3, axis=1).ravel()
    cols = np.tile(faces, (1, 3)).ravel()
    counts = np.bincount(rows, minlength=num).astype(np.float64)
    for _ in range(steps):
        values = np.where(counts > 0, np.bincount(rows, values[cols], minlength=num) / np.maximum(counts, 1), values)
    return values


def head_colors(template: np.ndarray, faces: np.ndarray, masks: Mapping[str, np.ndarray],
                palette: Palette = DEFAULT_PALETTE) -> np.ndarray:
    """Per-vertex sRGB colours (V, 3) float32 in [0, 1] of a head model for previews (module doc).

    Args:
        template: (V, 3) the neutral head, lips closed, y up, looking along +z.
        faces: (F, 3) its triangles.
        masks: region name -> vertex ids, with at least :data:`REQUIRED_REGIONS`; with
            ``lip_contact_upper``/``lip_contact_lower``/``mouth_corners`` the mouth line is theirs.

    Raises:
        PtalkerError: a required region missing, or ids outside the template.
    """
    template = np.asarray(template, dtype=np.float64)
    missing = [name for name in REQUIRED_REGIONS if name not in masks]
    if missing:
        raise PtalkerError(f"head colours: the region masks have no {', '.join(missing)}; use the head "
                           "model's FLAME_masks.pkl, or render with look 'clay'")
    masks = {name: np.asarray(ids, dtype=np.int64).ravel() for name, ids in masks.items()}
    if max(int(ids.max(initial=-1)) for ids in masks.values()) >= len(template):
        raise PtalkerError(f"head colours: the region masks index past the template's {len(template)} vertices; "
                           "use the masks of this mesh, or render with look 'clay'")
    faces = np.asarray(faces, dtype=np.int64)
    colors = np.broadcast_to(np.asarray(palette.skin, np.float64), template.shape).copy()  # (V, 3)
    mouth = _Mouth.of(template, masks)
    near_mouth = np.union1d(masks["lips"], masks["mouth"])
    lip_weight = np.zeros(len(template))
    lip_weight[near_mouth] = _lip_weight(template[near_mouth], mouth)
    lip_weight = _smoothstep(0.2, 0.7, _smooth(lip_weight, faces, LIP_SMOOTHING))  # a smooth, crisp border
    _mix(colors, near_mouth, palette.lips, lip_weight[near_mouth])
    inside = inner_mouth(template, faces, masks)
    depth = (mouth.center[2] - template[inside, 2]) / (MOUTH_DEPTH_SHARE * 2 * mouth.half_width)
    colors[inside] = palette.mouth
    _mix(colors, inside, palette.mouth_deep, _smoothstep(0.15, 1.0, depth))
    floor = _smoothstep(0.0, -0.25 * mouth.lower, template[inside, 1] - mouth.center[1])
    _mix(colors, inside, palette.tongue, floor * _smoothstep(0.2, 0.5, depth) * 0.8)
    for name in ("left_eyeball", "right_eyeball"):
        colors[masks[name]] = _eye_colors(template[masks[name]], palette)
    return np.clip(colors, 0.0, 1.0).astype(np.float32)


def face_frame_ids(template: np.ndarray, masks: Mapping[str, np.ndarray]) -> np.ndarray:
    """(K,) int64 ids the face framing holds in view: the eyes' region, the mouth and the chin
    (``mouth`` and ``face`` vertices below the mouth within the lips' width)."""
    template = np.asarray(template, dtype=np.float64)
    lips = np.asarray(masks["lips"], dtype=np.int64)
    low_x, high_x = template[lips, 0].min(), template[lips, 0].max()
    below = np.asarray(masks.get("face", masks["mouth"]), dtype=np.int64)
    points = template[below]
    chin = below[(points[:, 0] >= low_x) & (points[:, 0] <= high_x) & (points[:, 1] < template[lips, 1].min())
                 & (points[:, 2] > template[lips, 2].min() - CHIN_DEPTH * (high_x - low_x))]
    return np.unique(np.concatenate([np.asarray(masks["eye_region"], np.int64), lips, chin])).astype(np.int64)


def head_look(template: np.ndarray, faces: np.ndarray, masks: Mapping[str, np.ndarray], look: str = "face",
              framing: str | None = None, **settings: object) -> RenderSettings:
    """:class:`RenderSettings` of a head model's preview.

    Args:
        template, faces, masks: the head model's neutral (V, 3) vertices, (F, 3) triangles and
            region masks (see :func:`head_colors`).
        look: ``face`` (:func:`head_colors`, softer light) or ``clay`` (the plain clay head).
        framing: ``face`` (:func:`face_frame_ids`) or ``head`` (the whole mesh); default ``face``
            for the face look, ``head`` for clay.
        settings: any other :class:`RenderSettings` field (size, background, ...).

    Raises:
        PtalkerError: an unknown look or framing, masks that do not fit the template.
    """
    if look not in LOOKS:
        raise PtalkerError(f"look {look!r} is unknown; choose one of: {', '.join(LOOKS)}")
    framing = framing if framing is not None else ("face" if look == "face" else "head")
    if framing not in FRAMINGS:
        raise PtalkerError(f"framing {framing!r} is unknown; choose one of: {', '.join(FRAMINGS)}")
    if framing == "face":
        settings = {"frame_ids": face_frame_ids(template, masks), "fill": FACE_FILL, **settings}
    if look == "face":
        settings = {"vertex_colors": head_colors(template, faces, masks), "lights": SOFT_LIGHTS,
                    "ambient": SOFT_AMBIENT, "specular": SOFT_SPECULAR, **settings}
    return RenderSettings(**settings)
