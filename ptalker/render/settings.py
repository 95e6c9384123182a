"""What a rendered frame looks like: image size, camera, lights, material and colours.

Coordinates follow FLAME: x to the head's left (image right), y up, z out of the face. The
camera looks at the head from the front (from +z towards -z, y up), placed so that the
bounding box of the mesh (or of a whole sequence, so the camera does not move) fills
``fill`` of the frame (measured in the box's middle plane, where a head is widest); with
``frame_ids``, the box of those vertices only (the face of a head: :mod:`ptalker.render.appearance`). Shading is "clay": Lambert diffuse plus a faint Blinn-Phong highlight,
some ambient light, computed in linear light and written out with a 2.2 gamma, so that a
surface facing the key light shows its vertex colour unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ptalker.errors import PtalkerError

CLAY_COLOR = (0.80, 0.74, 0.66)
"""Light grey-beige base colour of the head (sRGB floats in [0, 1])."""


@dataclass(frozen=True)
class Light:
    """A directional light."""

    direction: tuple[float, float, float]
    """From the head towards the light (x right in the image, y up, z towards the camera)."""
    intensity: float = 1.0
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def unit_direction(self) -> np.ndarray:
        """(3,) float64 unit vector of :attr:`direction`."""
        direction = np.asarray(self.direction, dtype=np.float64)
        return direction / np.linalg.norm(direction)


DEFAULT_LIGHTS = (
    Light(direction=(0.5, 0.8, 0.8), intensity=0.95),   # key: upper left of the head (image right)
    Light(direction=(-0.9, -0.1, 0.5), intensity=0.25),  # fill: the other side
)


@dataclass(eq=False)
class RenderSettings:
    """Image, camera, lighting and material of a rendered head (defaults: 512x512 clay)."""

    width: int = 512
    height: int = 512
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """sRGB floats in [0, 1] (pyrender turns integer colours black)."""
    base_color: tuple[float, float, float] = CLAY_COLOR
    """sRGB floats in [0, 1], used where no vertex colours are given."""
    vertex_colors: np.ndarray | None = None
    """Optional (V, 3) or (T, V, 3) sRGB floats in [0, 1]: one colour per vertex (per frame)."""
    lights: tuple[Light, ...] = DEFAULT_LIGHTS
    ambient: float = 0.12
    """Ambient light intensity (linear units, added to every surface)."""
    specular: float = 0.06
    """Strength of the Blinn-Phong highlight (0 for matte)."""
    shininess: float = 24.0
    """Blinn-Phong exponent (higher: smaller highlight)."""
    fov_degrees: float = 20.0
    """Vertical field of view of the perspective camera."""
    fill: float = 0.85
    """Fraction of the frame height (or width) the mesh's bounding box fills."""
    msaa_samples: int = 0
    """Multisample anti-aliasing samples (0 off, 4 smooth edges at about half the speed)."""
    frame_ids: np.ndarray | None = None
    """Optional (K,) vertex ids whose bounding box the camera frames (None: every vertex)."""

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2:
            raise PtalkerError(f"render size: expected at least 2x2 pixels, got {self.width}x{self.height}; "
                               "pass e.g. --size 512")
        if not 0 < self.fill <= 1 or not 0 < self.fov_degrees < 180:
            raise PtalkerError(f"render settings: fill {self.fill} must lie in (0, 1] and fov_degrees "
                               f"{self.fov_degrees} in (0, 180)")
        if self.msaa_samples not in (0, 2, 4, 8):
            raise PtalkerError(f"msaa_samples: expected 0 (off), 2, 4 or 8, got {self.msaa_samples}")
        if self.vertex_colors is not None:
            self.vertex_colors = check_colors(self.vertex_colors, None, "vertex_colors", allow_frames=True)
        if self.frame_ids is not None:
            self.frame_ids = np.asarray(self.frame_ids, dtype=np.int64).ravel()
            if self.frame_ids.size == 0 or self.frame_ids.min() < 0:
                raise PtalkerError(f"frame_ids: expected non-negative vertex ids to frame, got {self.frame_ids.size} "
                                   "ids; leave frame_ids None to frame the whole mesh")

    def framed(self, vertices: np.ndarray) -> np.ndarray:
        """The vertices the camera frames: (..., K, 3) of (..., V, 3) ``vertices`` (all without ``frame_ids``).

        Raises:
            PtalkerError: ``frame_ids`` past the vertex count.
        """
        if self.frame_ids is None:
            return vertices
        if self.frame_ids.max() >= vertices.shape[-2]:
            raise PtalkerError(f"frame_ids: id {self.frame_ids.max()} past the mesh's {vertices.shape[-2]} vertices; "
                               "give the ids of this mesh, or frame the whole head")
        return vertices[..., self.frame_ids, :]

    def colors_at(self, frame: int) -> np.ndarray | None:
        """The (V, 3) vertex colours of ``frame`` (None: plain ``base_color``)."""
        colors = self.vertex_colors
        if colors is None or colors.ndim == 2:
            return colors
        return colors[min(frame, len(colors) - 1)]


def check_colors(colors: np.ndarray, num_vertices: int | None, what: str,
                 allow_frames: bool = False) -> np.ndarray:
    """Return ``colors`` as float32 (V, 3) (or (T, V, 3) when ``allow_frames``) in [0, 1].

    Raises:
        PtalkerError: another shape, a vertex count other than ``num_vertices``, values outside [0, 1].
    """
    array = np.asarray(colors, dtype=np.float32)
    shapes = "(V, 3) or (T, V, 3)" if allow_frames else "(V, 3)"
    if array.ndim not in ((2, 3) if allow_frames else (2,)) or array.shape[-1] != 3:
        raise PtalkerError(f"{what}: expected per-vertex RGB colours of shape {shapes}, got {array.shape}")
    if num_vertices is not None and array.shape[-2] != num_vertices:
        raise PtalkerError(f"{what}: colours for {array.shape[-2]} vertices, but the mesh has {num_vertices}")
    if not np.all((array >= 0) & (array <= 1)):
        raise PtalkerError(f"{what}: colours must be floats in [0, 1] (divide 8-bit colours by 255)")
    return array


@dataclass(frozen=True)
class Camera:
    """A front-view perspective camera (looking along -z, y up)."""

    position: np.ndarray
    """(3,) camera centre."""
    yfov: float
    """Vertical field of view in radians."""
    aspect: float
    """Width / height of the image."""
    znear: float
    zfar: float

    def pose(self) -> np.ndarray:
        """(4, 4) camera-to-world matrix (OpenGL convention: the camera looks along its -z)."""
        pose = np.eye(4)
        pose[:3, 3] = self.position
        return pose


def mesh_bounds(vertices: np.ndarray) -> np.ndarray:
    """(2, 3) min and max corner over all points of (V, 3) or (T, V, 3) ``vertices``."""
    points = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)  # (T*V, 3)
    return np.stack([points.min(axis=0), points.max(axis=0)])


def frame_camera(bounds: np.ndarray, settings: RenderSettings) -> Camera:
    """The front-view camera that makes the box ``bounds`` ((2, 3) min/max) fill the frame."""
    low, high = np.asarray(bounds, dtype=np.float64)
    center, size = (low + high) / 2, np.maximum(high - low, 1e-9)
    aspect = settings.width / settings.height
    yfov = math.radians(settings.fov_degrees)
    half_height = max(size[1] / 2, size[0] / 2 / aspect) / settings.fill
    distance = half_height / math.tan(yfov / 2)  # to the box's middle plane: a head is widest there
    radius = float(np.linalg.norm(size)) / 2
    return Camera(position=center + np.array([0.0, 0.0, distance]), yfov=yfov, aspect=aspect,
                  znear=max(distance / 10, distance - 2 * radius), zfar=distance + 2 * radius)
