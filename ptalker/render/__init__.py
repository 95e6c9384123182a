"""Rendering vertex sequences: backends (pyrender by default, pytorch3d optional), MP4 videos.

>>> from ptalker.render import render_video
>>> print(render_video(vertices, faces, "clip.mp4", fps=30, audio="speech.wav"))

- :func:`get_renderer` / :func:`available_backends`: one renderer per topology, ``render(vertices)``
  per frame (:mod:`ptalker.render.backends`);
- :class:`RenderSettings`: image size, camera framing, lights, clay material, vertex colours;
- :func:`ptalker.render.appearance.head_look`: a head model's preview look (skin, lips, dark
  mouth, eyes; framed eyes to chin) or plain clay;
- :func:`error_colors`: per-vertex error as heat-map colours;
- :func:`write_video`, :func:`render_video`: MP4 (H.264 + AAC) writing (from files:
  :func:`ptalker.pipelines.files.render_file`).

Importing this package loads neither pyrender nor OpenGL: the GL platform is chosen when a
pyrender renderer is first made (:mod:`ptalker.render.gl_platform`).
"""

from ptalker.render.backends import DEFAULT_BACKEND, Renderer, available_backends, get_renderer
from ptalker.render.colors import ERROR_CMAP, error_colors
from ptalker.render.settings import Light, RenderSettings, mesh_bounds
from ptalker.render.video import VideoResult, render_video, write_video

__all__ = ["DEFAULT_BACKEND", "ERROR_CMAP", "Light", "RenderSettings", "Renderer", "VideoResult",
           "available_backends", "error_colors", "get_renderer", "mesh_bounds",
           "render_video", "write_video"]
