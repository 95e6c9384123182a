"""The default backend: pyrender offscreen (EGL or OSMesa, see :mod:`ptalker.render.gl_platform`).

Speed on a CPU rasteriser comes from four things (benchmarks/render_speed.py measures them):

- the mesh is made once; each frame writes positions, normals and colours into its existing
  vertex buffer (``glBufferSubData`` on the interleaved buffer pyrender created) instead of
  building and uploading a new pyrender Mesh;
- :mod:`ptalker.render.clay_shader` replaces pyrender's physically based shader;
- multisampling is off unless ``RenderSettings.msaa_samples`` asks for it (EGL only; pyrender
  hard-codes 4 samples, the renderbuffers are re-allocated with the requested count);
- only the colour image is read back: pyrender also reads the depth buffer of every frame and
  converts it to linear depth (about an eighth of a 512x512 frame's time), which nothing here uses.

This reaches into pyrender 0.1.45 internals (``OffscreenRenderer._renderer``/``_platform``,
``Primitive._buffers``, ``Renderer._program_cache``, its main framebuffer and read-back methods);
the tests check that an updated frame matches one rendered from scratch and that the colour-only
read-back gives pyrender's image. Closing a renderer on EGL destroys its context without
pyrender's ``eglTerminate``, which would break every other renderer alive.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from ptalker.errors import PtalkerError
from ptalker.render.backends import Renderer
from ptalker.render.clay_shader import SHADER_FILES
from ptalker.render.gl_platform import import_pyrender
from ptalker.render.normals import VertexNormals
from ptalker.render.settings import Light, RenderSettings

NORMALS = slice(3, 6)
COLORS = slice(6, 9)
VERTEX_FLOATS = 10
"""Floats per vertex in pyrender's interleaved buffer: position 3, normal 3, colour RGBA 4."""
RGBA = slice(6, VERTEX_FLOATS)


def light_pose(light: Light) -> np.ndarray:
    """(4, 4) pose whose -z axis (pyrender's light direction) points from the light to the head."""
    z_axis = light.unit_direction()
    helper = np.array([0.0, 1.0, 0.0]) if abs(z_axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x_axis = np.cross(helper, z_axis)
    x_axis /= np.linalg.norm(x_axis)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)
    return pose


def _destroy_egl_context(platform) -> None:
    """Delete only this EGL context: pyrender's own ``delete_context`` also calls ``eglTerminate``
    on the display, which every EGL context of the process shares, breaking the others."""
    from OpenGL import EGL

    if platform._egl_context is not None:
        EGL.eglMakeCurrent(platform._egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(platform._egl_display, platform._egl_context)
        platform._egl_context = None


def _read_color(renderer, scene, flags) -> tuple[np.ndarray, None]:
    """pyrender's ``Renderer._read_main_framebuffer`` (EGL: offscreen framebuffers) without the
    depth image: ((H, W, 3) uint8 colour, None)."""
    from OpenGL import GL

    width, height = renderer._main_fb_dims
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb_ms)
    GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, renderer._main_fb)
    GL.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb)
    color = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
    return np.flip(np.frombuffer(color, np.uint8).reshape(height, width, 3), axis=0), None


def _shader_cache(pyrender, settings: RenderSettings, shader_dir: Path):
    """A pyrender program cache that compiles the clay shader with the settings' highlight."""
    for name, source in SHADER_FILES.items():
        (shader_dir / name).write_text(source)
    extra = {"CLAY_SPECULAR": repr(float(settings.specular)), "CLAY_SHININESS": repr(float(settings.shininess))}

    class ClayProgramCache(pyrender.shader_program.ShaderProgramCache):
        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            return super().get_program(vertex_shader, fragment_shader, geometry_shader, {**(defines or {}), **extra})

    return ClayProgramCache(shader_dir=str(shader_dir))


class PyrenderRenderer(Renderer):
    """pyrender offscreen renderer updating one mesh's vertex buffer in place (see module doc)."""

    def __init__(self, faces: np.ndarray, settings: RenderSettings | None = None,
                 bounds: np.ndarray | None = None) -> None:
        super().__init__(faces, settings, bounds)
        self._pyrender = import_pyrender()
        self._shader_dir = tempfile.TemporaryDirectory(prefix="ptalker_shaders_")
        self._offscreen = None
        self._scene = None
        self._primitive = None
        self._data: np.ndarray | None = None  # (V, VERTEX_FLOATS) float32 interleaved vertex data
        self._normals: VertexNormals | None = None

    def _create(self) -> None:
        """Build the scene, the GL context and the mesh (from the vertex data of the first frame)."""
        pyrender, settings = self._pyrender, self.settings
        scene = pyrender.Scene(bg_color=[*map(float, settings.background), 1.0],
                               ambient_light=[float(settings.ambient)] * 3)
        for light in settings.lights:
            scene.add(pyrender.DirectionalLight(color=light.color, intensity=light.intensity), pose=light_pose(light))
        camera = self.camera
        scene.add(pyrender.PerspectiveCamera(yfov=camera.yfov, aspectRatio=camera.aspect,
                                             znear=camera.znear, zfar=camera.zfar), pose=camera.pose())
        material = pyrender.MetallicRoughnessMaterial(baseColorFactor=[1.0, 1.0, 1.0, 1.0], doubleSided=True)
        self._primitive = pyrender.Primitive(positions=self._data[:, :3], normals=self._data[:, NORMALS],
                                             color_0=self._data[:, RGBA], indices=self.faces, material=material)
        scene.add(pyrender.Mesh([self._primitive]))
        self._scene = scene
        try:
            self._offscreen = pyrender.OffscreenRenderer(settings.width, settings.height)
        except Exception as err:  # EGL/OSMesa report failures with many exception types
            raise PtalkerError(f"rendering: could not create an OpenGL context ({type(err).__name__}: {err}); "
                               "try PYOPENGL_PLATFORM=osmesa or PYOPENGL_PLATFORM=egl") from None
        if hasattr(self._offscreen._platform, "_egl_context"):
            self._offscreen._platform.delete_context = functools.partial(_destroy_egl_context, self._offscreen._platform)
        renderer = self._offscreen._renderer
        renderer._program_cache = _shader_cache(pyrender, settings, Path(self._shader_dir.name))
        renderer._read_main_framebuffer = functools.partial(_read_color, renderer)  # EGL
        renderer.read_depth_buf = lambda: None  # OSMesa reads the window's buffers
        self._set_msaa_samples(settings.msaa_samples)

    def _set_msaa_samples(self, samples: int) -> None:
        """Re-allocate pyrender's multisample colour and depth buffers with ``samples`` samples."""
        from OpenGL import GL

        if not self._offscreen._platform.supports_framebuffers():
            return  # OSMesa: pyrender draws into the context's own single-sample buffer
        self._offscreen._platform.make_current()
        renderer = self._offscreen._renderer
        renderer._configure_main_framebuffer()
        for buffer, layout in ((renderer._main_cb_ms, GL.GL_RGBA), (renderer._main_db_ms, GL.GL_DEPTH_COMPONENT24)):
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buffer)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, layout,
                                                self.settings.width, self.settings.height)
        self._offscreen._platform.make_uncurrent()

    def _upload(self) -> None:
        """Copy the interleaved vertex data into the mesh's GL vertex buffer."""
        from OpenGL import GL

        self._offscreen._platform.make_current()
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._primitive._buffers[0])
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self._data.nbytes, self._data)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def _render(self, vertices: np.ndarray, albedo: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 image of (V, 3) ``vertices`` coloured (V, 3) ``albedo``."""
        if self._data is None:
            self._normals = VertexNormals(self.faces, len(vertices))
            self._data = np.ones((len(vertices), VERTEX_FLOATS), dtype=np.float32)
        elif len(vertices) != len(self._data):
            raise PtalkerError(f"vertices: this renderer was made for {len(self._data)} vertices, got "
                               f"{len(vertices)}; make a new renderer for another mesh")
        self._data[:, :3] = vertices
        self._data[:, NORMALS] = self._normals(vertices)
        self._data[:, COLORS] = albedo
        if self._offscreen is None:
            self._create()  # pyrender uploads the new mesh's (copied) arrays in its first render
        else:
            self._upload()
        color, _depth = self._offscreen.render(self._scene)
        return np.ascontiguousarray(color)

    def close(self) -> None:
        """Free the GL context and the temporary shader files."""
        if self._offscreen is not None:
            self._offscreen.delete()
            self._offscreen = None
        self._shader_dir.cleanup()
