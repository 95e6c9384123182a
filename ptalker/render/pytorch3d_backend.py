"""Optional GPU backend: pytorch3d rasterisation with the clay shading of the pyrender backend.

pytorch3d has no CPU wheel on the package registry; this backend is for machines that have it
(usually with CUDA). Shading is computed per pixel in torch with the same formula as
:mod:`ptalker.render.clay_shader`: Lambert + faint Blinn-Phong per directional light, ambient,
sRGB vertex colours linearised and the result gamma-encoded, lit from the visible side.
"""

from __future__ import annotations

import math

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.render.backends import Renderer
from ptalker.render.settings import RenderSettings

GAMMA = 2.2


def _import_pytorch3d():
    """pytorch3d's renderer, structures and ops modules, or a one-line error."""
    try:
        import pytorch3d.ops
        import pytorch3d.renderer
        import pytorch3d.structures
    except ImportError as err:
        raise PtalkerError(f"pytorch3d is not installed ({err}); install it for your torch/CUDA build, "
                           "or use backend 'pyrender'") from None
    return pytorch3d.renderer, pytorch3d.structures, pytorch3d.ops


def _shade(normals, positions, albedo, camera_position, settings: RenderSettings):
    """(..., 3) gamma-encoded colours in [0, 1] from (..., 3) ``normals``, world ``positions`` and sRGB ``albedo``."""
    import torch

    view = torch.nn.functional.normalize(camera_position - positions, dim=-1)
    normals = torch.nn.functional.normalize(normals, dim=-1)
    normals = torch.where((normals * view).sum(-1, keepdim=True) < 0, -normals, normals)  # two-sided
    linear = albedo.clamp(0, 1) ** GAMMA
    color = linear * settings.ambient
    for light in settings.lights:
        towards = torch.as_tensor(light.unit_direction(), dtype=positions.dtype, device=positions.device)
        radiance = light.intensity * torch.as_tensor(light.color, dtype=positions.dtype, device=positions.device)
        diffuse = (normals * towards).sum(-1, keepdim=True)  # (..., 1)
        half = torch.nn.functional.normalize(view + towards, dim=-1)
        highlight = (normals * half).sum(-1, keepdim=True).clamp(min=0) ** settings.shininess
        color = color + radiance * (linear * diffuse.clamp(min=0) + settings.specular * highlight * (diffuse > 0))
    return color.clamp(0, 1) ** (1 / GAMMA)


class Pytorch3dRenderer(Renderer):
    """pytorch3d MeshRasterizer (one face per pixel, no blur) + per-pixel clay shading."""

    def __init__(self, faces: np.ndarray, settings: RenderSettings | None = None,
                 bounds: np.ndarray | None = None, device: str | None = None) -> None:
        super().__init__(faces, settings, bounds)
        self._p3d = _import_pytorch3d()
        import torch

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._faces = torch.as_tensor(self.faces, device=self.device)
        self._rasterizer = None

    def _make_rasterizer(self):
        """The rasterizer for :attr:`camera` (fov taken along the shorter image side, as pytorch3d does)."""
        renderer = self._p3d[0]
        camera, settings = self.camera, self.settings
        fov = camera.yfov if settings.width >= settings.height else \
            2 * math.atan(math.tan(camera.yfov / 2) * camera.aspect)
        eye = camera.position[None]  # (1, 3)
        rotation, translation = renderer.look_at_view_transform(
            eye=eye, at=eye - np.array([[0.0, 0.0, 1.0]]), up=((0.0, 1.0, 0.0),), device=self.device)
        cameras = renderer.FoVPerspectiveCameras(device=self.device, R=rotation, T=translation, fov=fov,
                                                 degrees=False, znear=camera.znear, zfar=camera.zfar)
        raster = renderer.RasterizationSettings(image_size=(settings.height, settings.width), blur_radius=0.0,
                                                faces_per_pixel=1, cull_backfaces=False)
        return renderer.MeshRasterizer(cameras=cameras, raster_settings=raster)

    def _render(self, vertices: np.ndarray, albedo: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 image of (V, 3) ``vertices`` coloured (V, 3) ``albedo``."""
        import torch

        _, structures, ops = self._p3d
        if self._rasterizer is None:
            self._rasterizer = self._make_rasterizer()
        points = torch.as_tensor(vertices, dtype=torch.float32, device=self.device)  # (V, 3)
        colors = torch.as_tensor(np.ascontiguousarray(albedo), dtype=torch.float32, device=self.device)
        mesh = structures.Meshes(verts=[points], faces=[self._faces])
        with torch.no_grad():
            fragments = self._rasterizer(mesh)
            attributes = torch.cat([mesh.verts_normals_packed(), points, colors], dim=1)[self._faces]  # (F, 3, 9)
            pixels = ops.interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, attributes)
            pixels = pixels[0, :, :, 0]  # (H, W, 9)
            camera = torch.as_tensor(self.camera.position, dtype=torch.float32, device=self.device)
            shaded = _shade(pixels[..., 0:3], pixels[..., 3:6], pixels[..., 6:9], camera, self.settings)
            background = torch.tensor(self.settings.background, dtype=torch.float32, device=self.device)
            covered = fragments.pix_to_face[0, :, :, :1] >= 0  # (H, W, 1)
            image = torch.where(covered, shaded, background)
        return (image * 255).round().to(torch.uint8).cpu().numpy()
