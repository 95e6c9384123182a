"""The renderer interface and the registry of backends.

A renderer is made once for a topology (the triangles) and a :class:`RenderSettings`, then
renders frame after frame of moving vertices::

    with get_renderer("pyrender", faces, settings, bounds=mesh_bounds(sequence)) as renderer:
        images = [renderer.render(frame) for frame in sequence]   # each (H, W, 3) uint8

Backends are imported only when asked for, so a missing optional one (pytorch3d) fails only
when used, with a message naming what to install.
"""

from __future__ import annotations

import abc
import importlib
import importlib.util
from typing import NamedTuple

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.render.settings import Camera, RenderSettings, check_colors, frame_camera, mesh_bounds

DEFAULT_BACKEND = "pyrender"


class Renderer(abc.ABC):
    """Renders (V, 3) vertices of one topology to (H, W, 3) uint8 images."""

    def __init__(self, faces: np.ndarray, settings: RenderSettings | None = None,
                 bounds: np.ndarray | None = None) -> None:
        """``faces``: (F, 3) vertex indices. ``bounds``: (2, 3) min/max corner the camera frames;
        None frames the first rendered mesh (its ``settings.frame_ids``). The camera then stays fixed."""
        self.faces = np.asarray(faces, dtype=np.int64)
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or len(self.faces) == 0:
            raise PtalkerError(f"faces: expected triangles of shape (F, 3), got {self.faces.shape}")
        self.num_vertices = int(self.faces.max()) + 1
        self.settings = settings if settings is not None else RenderSettings()
        self.camera: Camera | None = None if bounds is None else frame_camera(bounds, self.settings)

    def render(self, vertices: np.ndarray, colors: np.ndarray | None = None) -> np.ndarray:
        """Render one frame.

        Args:
            vertices: (V, 3) positions (V covers every index in the faces).
            colors: optional (V, 3) sRGB floats in [0, 1]; default the settings' vertex colours
                (when (V, 3)) or the base colour.

        Returns:
            (H, W, 3) uint8 image.
        """
        vertices = np.asarray(vertices, dtype=np.float32)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < self.num_vertices:
            raise PtalkerError(f"vertices: expected shape (V, 3) with V >= {self.num_vertices} (the faces' "
                               f"vertex count), got {vertices.shape}; pass one frame of the mesh the faces belong to")
        if self.camera is None:
            self.camera = frame_camera(mesh_bounds(self.settings.framed(vertices)), self.settings)
        return self._render(vertices, self._albedo(colors, len(vertices)))

    def _albedo(self, colors: np.ndarray | None, num_vertices: int) -> np.ndarray:
        """(V, 3) float32 colours to shade: ``colors``, the settings' static ones or the base colour."""
        if colors is None and self.settings.vertex_colors is not None and self.settings.vertex_colors.ndim == 2:
            colors = self.settings.vertex_colors
        if colors is None:
            return np.broadcast_to(np.asarray(self.settings.base_color, np.float32), (num_vertices, 3))
        return check_colors(colors, num_vertices, "colors")

    @abc.abstractmethod
    def _render(self, vertices: np.ndarray, albedo: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 image of (V, 3) float32 ``vertices`` with (V, 3) colours ``albedo``."""

    def close(self) -> None:
        """Free the backend's resources (the renderer cannot be used afterwards)."""

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Backend(NamedTuple):
    module: str
    """Module holding the Renderer subclass."""
    cls: str
    requires: str
    """Top-level package the backend needs."""
    install: str
    """How to get it."""


BACKENDS: dict[str, _Backend] = {
    "pyrender": _Backend("ptalker.render.pyrender_backend", "PyrenderRenderer", "pyrender",
                         "pip install pyrender (CPU rendering through EGL or OSMesa)"),
    "pytorch3d": _Backend("ptalker.render.pytorch3d_backend", "Pytorch3dRenderer", "pytorch3d",
                          "install pytorch3d for your torch and CUDA build (see its INSTALL.md)"),
}


def available_backends(installed_only: bool = False) -> list[str]:
    """Names of the render backends (only those whose package is installed, when asked)."""
    return [name for name, backend in BACKENDS.items()
            if not installed_only or importlib.util.find_spec(backend.requires) is not None]


def get_renderer(name: str = DEFAULT_BACKEND, faces: np.ndarray | None = None,
                 settings: RenderSettings | None = None, bounds: np.ndarray | None = None) -> Renderer:
    """A renderer of backend ``name`` for (F, 3) ``faces`` (see :class:`Renderer`).

    Raises:
        PtalkerError: an unknown backend, a backend whose package is not installed, no faces.
    """
    if name not in BACKENDS:
        raise PtalkerError(f"render backend {name!r} is unknown; choose one of: {', '.join(BACKENDS)}")
    if faces is None:
        raise PtalkerError("faces: a renderer needs the mesh's (F, 3) triangles; pass faces=...")
    backend = BACKENDS[name]
    if importlib.util.find_spec(backend.requires) is None:
        raise PtalkerError(f"{backend.requires} is not installed; {backend.install}, or use backend "
                           f"{DEFAULT_BACKEND!r}")
    module = importlib.import_module(backend.module)
    return getattr(module, backend.cls)(faces, settings, bounds)
