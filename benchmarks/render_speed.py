"""How fast do previews render? Frames per second at 512x512 for the stand-in head in motion.

    python benchmarks/render_speed.py [--frames 150] [--size 512] [--platforms egl,osmesa] [--out DIR]

For each OpenGL platform (each in its own process: PyOpenGL fixes the platform per process):

- ``inplace``: the pyrender backend as ptalker uses it (one mesh, vertex buffer updated in place,
  clay shader, no multisampling);
- ``inplace_msaa4``: the same with 4x multisampling (EGL only; OSMesa has none);
- ``naive``: plain pyrender, a new ``Mesh.from_trimesh`` every frame with pyrender's default
  shader and multisampling, the usual way and the baseline;
- ``video`` and ``video_compare``: the whole ``render_video`` (render + H.264/AAC encoding,
  muxing), single view and side by side with the error heat map, in frames per second.

Printed as a table and written to OUT/render_speed.json with the CPU count and load average:
numbers taken while other work runs on the machine are lower than on an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS_DIR, ROOT, argument_parser

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.fileio import save_json

PLATFORMS = ("egl", "osmesa")


def moving_head(template: np.ndarray, frames: int, fps: float = 30.0) -> np.ndarray:
    """(T, V, 3) float32: ``template`` nodding and turning a little, with a ripple over the surface."""
    seconds = np.arange(frames) / fps
    out = np.empty((frames, *template.shape), dtype=np.float32)
    center = template.mean(axis=0)
    for index, t in enumerate(seconds):
        yaw, pitch = 0.15 * np.sin(2 * np.pi * 0.5 * t), 0.08 * np.sin(2 * np.pi * 0.7 * t)
        cos_y, sin_y, cos_p, sin_p = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
        rotation = np.array([[cos_y, 0, sin_y], [0, 1, 0], [-sin_y, 0, cos_y]]) @ \
            np.array([[1, 0, 0], [0, cos_p, -sin_p], [0, sin_p, cos_p]])
        ripple = 0.002 * np.sin(40 * template[:, 1:2] + 8 * t)  # (V, 1)
        out[index] = (template - center) @ rotation.T + center + ripple * np.array([0, 0, 1.0])
    return out


def _fps(render, frames: np.ndarray) -> float:
    """Frames per second of ``render(frame)`` over ``frames`` (the first call, warm-up, untimed)."""
    render(frames[0])
    start = time.perf_counter()
    for frame in frames:
        render(frame)
    return len(frames) / (time.perf_counter() - start)


def _naive_fps(faces: np.ndarray, frames: np.ndarray, size: int) -> float:
    """pyrender the usual way: a new Mesh per frame, default shader and multisampling."""
    import trimesh

    from ptalker.render.gl_platform import import_pyrender
    from ptalker.render.pyrender_backend import light_pose
    from ptalker.render.settings import RenderSettings, frame_camera, mesh_bounds

    pyrender, settings = import_pyrender(), RenderSettings(width=size, height=size)
    camera = frame_camera(mesh_bounds(frames), settings)
    scene = pyrender.Scene(bg_color=[1.0, 1.0, 1.0, 1.0], ambient_light=[settings.ambient] * 3)
    scene.add(pyrender.PerspectiveCamera(yfov=camera.yfov, znear=camera.znear, zfar=camera.zfar), pose=camera.pose())
    for light in settings.lights:
        scene.add(pyrender.DirectionalLight(intensity=light.intensity), pose=light_pose(light))
    offscreen, node = pyrender.OffscreenRenderer(size, size), None

    def render(vertices: np.ndarray) -> None:
        nonlocal node
        if node is not None:
            scene.remove_node(node)
        node = scene.add(pyrender.Mesh.from_trimesh(trimesh.Trimesh(vertices, faces, process=False), smooth=True))
        offscreen.render(scene)

    try:
        return _fps(render, frames)
    finally:
        offscreen.delete()


def _renderer_fps(faces: np.ndarray, frames: np.ndarray, size: int, msaa_samples: int) -> float:
    from ptalker.render import RenderSettings, get_renderer, mesh_bounds

    settings = RenderSettings(width=size, height=size, msaa_samples=msaa_samples)
    with get_renderer("pyrender", faces, settings, bounds=mesh_bounds(frames)) as renderer:
        return _fps(renderer.render, frames)


def _video_fps(faces: np.ndarray, frames: np.ndarray, size: int, compare: bool) -> float:
    from ptalker.render import RenderSettings, render_video

    speech = 0.1 * np.sin(2 * np.pi * 220 * np.arange(int(len(frames) / 30 * AUDIO_SAMPLE_RATE_HZ)) / AUDIO_SAMPLE_RATE_HZ)
    truth = frames[::-1].copy() if compare else None
    with tempfile.TemporaryDirectory() as folder:
        result = render_video(frames, faces, Path(folder) / "clip.mp4", 30.0, audio=speech.astype(np.float32),
                              compare=truth, settings=RenderSettings(width=size, height=size))
    return result.render_fps


def measure(platform: str, frames_count: int, size: int) -> dict:
    """Every measurement for the platform this process runs on."""
    from ptalker.flame.flame_model import head_topology

    head = head_topology()
    frames = moving_head(head.template, frames_count)
    results = {"inplace": _renderer_fps(head.faces, frames, size, 0)}
    if platform == "egl":
        results["inplace_msaa4"] = _renderer_fps(head.faces, frames, size, 4)
    results["naive"] = _naive_fps(head.faces, frames, size)
    results["video"] = _video_fps(head.faces, frames, size, compare=False)
    results["video_compare"] = _video_fps(head.faces, frames, size, compare=True)
    return {name: round(value, 1) for name, value in results.items()}


def _child(platform: str, frames: int, size: int) -> dict:
    """Run :func:`measure` in a process whose PYOPENGL_PLATFORM is ``platform``."""
    env = {**os.environ, "PYOPENGL_PLATFORM": platform}
    command = [sys.executable, __file__, "--child", "--frames", str(frames), "--size", str(size)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--platforms", default=",".join(PLATFORMS))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(os.environ["PYOPENGL_PLATFORM"], args.frames, args.size)))
        return
    load_before = os.getloadavg()
    results = {platform: _child(platform, args.frames, args.size) for platform in args.platforms.split(",")}
    report = {"frames": args.frames, "size": f"{args.size}x{args.size}", "unit": "frames per second",
              "cpus": os.cpu_count(), "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
              "platforms": results}
    print(f"render speed, stand-in head in motion, {args.frames} frames at {args.size}x{args.size}, "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} after")
    names = sorted({name for values in results.values() for name in values})
    print(f"{'platform':10}" + "".join(f"{name:>15}" for name in names))
    for platform, values in results.items():
        print(f"{platform:10}" + "".join(f"{values.get(name, '-'):>15}" for name in names))
    save_json(args.out / "render_speed.json", report)
    print(f"wrote {args.out / 'render_speed.json'}")


if __name__ == "__main__":
    main()
