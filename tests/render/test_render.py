"""Renderer backends, settings, normals and error colours (small meshes, 128x128 images)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import trimesh
from helpers import assert_allclose

from ptalker.errors import PtalkerError
from ptalker.render import RenderSettings, available_backends, error_colors, get_renderer, gl_platform, mesh_bounds
from ptalker.render.colors import CompareOverlay, color_table, nice_ceiling
from ptalker.render.normals import VertexNormals
from ptalker.render.settings import frame_camera

SIZE = 128
BACKGROUND = (1.0, 1.0, 1.0)
RED = (1.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def sphere():
    """(V, 3) float32 vertices and (F, 3) faces of a unit icosphere (162 vertices)."""
    mesh = trimesh.creation.icosphere(subdivisions=2)
    return np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.int64)


@pytest.fixture(scope="module")
def settings():
    return RenderSettings(width=SIZE, height=SIZE, background=BACKGROUND)


@pytest.fixture(scope="module")
def renderer(sphere, settings):
    vertices, faces = sphere
    with get_renderer("pyrender", faces, settings, bounds=mesh_bounds(vertices)) as made:
        yield made


def foreground(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that are not the white background."""
    return np.any(image < 250, axis=-1)


def test_frame_is_shaded_and_centred(renderer, sphere):
    image = renderer.render(sphere[0])
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    mask = foreground(image)
    rows, cols = np.nonzero(mask)
    assert mask.mean() > 0.3, f"only {mask.mean():.0%} of the frame is covered"
    assert abs(rows.mean() - SIZE / 2) < 0.05 * SIZE and abs(cols.mean() - SIZE / 2) < 0.05 * SIZE
    assert rows.max() - rows.min() > 0.7 * SIZE, "the mesh should fill most of the frame height"
    assert not mask[[0, 0, -1, -1], [0, -1, 0, -1]].any(), "corners should show the background"
    assert image[mask].std() > 5, "a lit sphere is not one flat colour"


def test_image_is_upright_and_not_mirrored(renderer, sphere):
    vertices = sphere[0]
    colors = np.full((len(vertices), 3), 0.8, np.float32)
    colors[vertices[:, 1] > 0.6] = RED  # top of the sphere (y up)
    colors[vertices[:, 0] > 0.6] = (0.0, 0.0, 1.0)  # x: to the right in a front view
    image = renderer.render(vertices, colors).astype(int)
    red = (image[..., 0] > image[..., 1] + 60) & (image[..., 0] > image[..., 2] + 60)
    blue = (image[..., 2] > image[..., 0] + 60) & (image[..., 2] > image[..., 1] + 60)
    assert red.any() and blue.any(), "vertex colours do not show up"
    assert np.nonzero(red)[0].mean() < SIZE / 3, "the top (+y) should be at the top of the image"
    assert np.nonzero(blue)[1].mean() > 2 * SIZE / 3, "+x should be on the right of the image"


def test_moving_vertices_change_the_image(renderer, sphere):
    vertices = sphere[0]
    before = renderer.render(vertices)
    moved = renderer.render(vertices * np.array([0.6, 1.0, 1.0], np.float32))
    assert np.abs(before.astype(int) - moved).max() > 100
    assert foreground(moved).sum() < 0.8 * foreground(before).sum()


def test_updated_buffers_match_a_fresh_renderer(renderer, sphere, settings):
    vertices, faces = sphere
    target = vertices + np.float32(0.2) * np.sin(3 * vertices)
    colors = np.clip(vertices * 0.5 + 0.5, 0, 1)
    renderer.render(vertices)  # the shared renderer has drawn other meshes and colours before
    updated = renderer.render(target, colors)
    with get_renderer("pyrender", faces, settings, bounds=mesh_bounds(vertices)) as fresh:
        expected = fresh.render(target, colors)
    assert_allclose(updated, expected, atol=1, what="in-place update vs fresh renderer")


def test_color_only_read_back_matches_pyrenders(renderer, sphere):
    vertices = sphere[0]
    ours = renderer.render(vertices)
    gl_renderer = renderer._offscreen._renderer
    replaced = {name: gl_renderer.__dict__.pop(name) for name in ("_read_main_framebuffer", "read_depth_buf")}
    try:
        theirs = renderer.render(vertices)  # pyrender's own: colour and depth
    finally:
        gl_renderer.__dict__.update(replaced)
    np.testing.assert_array_equal(ours, theirs)


def test_settings_vertex_colors_per_frame(sphere):
    vertices, faces = sphere
    colors = np.stack([np.full((len(vertices), 3), 0.8), np.tile(RED, (len(vertices), 1))])  # (T, V, 3)
    settings = RenderSettings(width=SIZE, height=SIZE, vertex_colors=colors)
    assert settings.colors_at(1)[0].tolist() == list(RED)
    assert settings.colors_at(5)[0].tolist() == list(RED), "frames past the end keep the last colours"
    with pytest.raises(PtalkerError, match="vertex_colors"):
        RenderSettings(vertex_colors=np.full((len(vertices), 3), 2.0))


def test_msaa_renders(sphere):
    vertices, faces = sphere
    settings = RenderSettings(width=SIZE, height=SIZE, msaa_samples=4)
    with get_renderer("pyrender", faces, settings) as renderer:
        assert foreground(renderer.render(vertices)).mean() > 0.3


def test_renderer_rejects_bad_input(renderer, sphere):
    with pytest.raises(PtalkerError, match=r"vertices: expected shape \(V, 3\)"):
        renderer.render(sphere[0][:10])
    with pytest.raises(PtalkerError, match="colours for 3 vertices"):
        renderer.render(sphere[0], np.zeros((3, 3)))
    with pytest.raises(PtalkerError, match="made for 162 vertices"):
        renderer.render(np.concatenate([sphere[0], sphere[0]]))


def test_a_probe_started_ahead_is_the_one_collected(monkeypatch):
    monkeypatch.delenv(gl_platform.PLATFORM_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "OpenGL.platform", raising=False)
    monkeypatch.setattr(gl_platform, "_PROBE", "raise SystemExit(3)")
    gl_platform.probe_ahead()
    gl_platform.probe_ahead()  # one probe at a time
    probe = gl_platform._AHEAD[gl_platform.PLATFORM_ORDER[0]]
    assert len(gl_platform._AHEAD) == 1
    assert not gl_platform._context_works(gl_platform.PLATFORM_ORDER[0])
    assert probe.returncode == 3 and not gl_platform._AHEAD


def test_registry_lists_and_rejects():
    assert available_backends()[:2] == ["pyrender", "pytorch3d"]
    assert "pyrender" in available_backends(installed_only=True)
    with pytest.raises(PtalkerError, match="render backend 'blender' is unknown; choose one of: pyrender, pytorch3d"):
        get_renderer("blender", np.zeros((1, 3), int))


@pytest.mark.skipif(importlib.util.find_spec("pytorch3d") is not None, reason="pytorch3d is installed")
def test_missing_pytorch3d_is_one_clear_error(sphere):
    with pytest.raises(PtalkerError, match="pytorch3d is not installed; .*use backend 'pyrender'"):
        get_renderer("pytorch3d", sphere[1])


def test_pytorch3d_backend_renders(sphere, settings):
    pytest.importorskip("pytorch3d")
    vertices, faces = sphere
    with get_renderer("pytorch3d", faces, settings) as renderer:
        image = renderer.render(vertices)
    mask = foreground(image)
    rows, cols = np.nonzero(mask)
    assert mask.mean() > 0.3 and abs(rows.mean() - SIZE / 2) < 0.05 * SIZE and abs(cols.mean() - SIZE / 2) < 0.05 * SIZE


def test_vertex_normals_match_a_naive_sum(sphere):
    vertices, faces = sphere
    vertices = vertices * np.array([1.0, 2.0, 0.5], np.float32)
    face_normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    expected = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(expected, faces[:, corner], face_normals)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert_allclose(VertexNormals(faces, len(vertices))(vertices), expected, atol=1e-5, what="vertex normals")
    lonely = VertexNormals(faces, len(vertices) + 1)(np.concatenate([vertices, np.zeros((1, 3), np.float32)]))
    assert lonely[-1].tolist() == [0.0, 0.0, 1.0], "a vertex in no triangle gets a default normal"


def test_camera_frames_the_box():
    settings = RenderSettings(width=200, height=100)
    camera = frame_camera(np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]), settings)
    assert camera.position[:2].tolist() == [0.0, 0.0] and camera.position[2] > 1.0
    assert camera.znear < camera.position[2] - 1.0 and camera.zfar > camera.position[2] + 1.0
    assert camera.aspect == 2.0


def test_error_colors():
    table = color_table()
    colors = error_colors(np.array([[0.0, 1.0, 2.0, 9.0, np.nan]]), vmax=2.0)
    assert colors.shape == (1, 5, 3) and colors.dtype == np.float32
    assert_allclose(colors[0, 0], table[0], atol=0, what="zero error")
    assert_allclose(colors[0, 2], table[-1], atol=0, what="error at vmax")
    assert_allclose(colors[0, 3], table[-1], atol=0, what="error above vmax")
    assert colors[0, 1].sum() < colors[0, 0].sum(), "higher errors are darker in the default map"
    with pytest.raises(PtalkerError, match="vmax"):
        error_colors(np.zeros(3), vmax=0.0)
    with pytest.raises(PtalkerError, match="no matplotlib colour map named 'nope'"):
        error_colors(np.zeros(3), vmax=1.0, cmap="nope")
    assert [nice_ceiling(value) for value in (0.7, 1.0, 1.2, 2.2, 3.1, 7.0, 42.0)] == [1, 1, 2, 2.5, 5, 10, 50]


def test_compare_overlay_draws_labels_and_bar():
    overlay = CompareOverlay(SIZE, SIZE, vmax_mm=2.0)
    frame = overlay.apply(np.full((SIZE, 2 * SIZE, 3), 255, np.uint8))
    changed = np.any(frame < 200, axis=-1)
    assert changed[: SIZE // 8, : SIZE].any() and changed[: SIZE // 8, SIZE:].any(), "a label over each half"
    assert changed[SIZE // 3: 2 * SIZE // 3, : SIZE // 6].any(), "the colour bar at the left"
    assert changed.mean() < 0.15, "the overlay covers only a small part of the frame"
    with pytest.raises(ValueError):
        overlay.apply(np.zeros((SIZE, SIZE, 3), np.uint8))
