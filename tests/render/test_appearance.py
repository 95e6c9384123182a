"""The head look of previews: per-vertex colours of the stand-in (lips, dark mouth, eyes), the face
framing, and what an open and a closed mouth look like rendered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.render import get_renderer, mesh_bounds
from ptalker.render.appearance import (
    DEFAULT_PALETTE,
    face_frame_ids,
    head_colors,
    head_look,
    inner_mouth,
)
from ptalker.render.settings import CLAY_COLOR

SIZE = 160
JAW_OPEN_RAD = 0.25


@pytest.fixture(scope="module")
def head(standin_model, standin_head):
    """(template (V, 3) float64, faces (F, 3), masks dict) of the stand-in."""
    masks = {name: np.asarray(ids, np.int64) for name, ids in standin_head["masks"].items()}
    return standin_model.template.numpy().astype(np.float64), np.asarray(standin_model.faces, np.int64), masks


@pytest.fixture(scope="module")
def colors(head):
    return head_colors(*head)


def _distance(colors: np.ndarray, color: tuple[float, float, float]) -> np.ndarray:
    return np.linalg.norm(colors - np.asarray(color), axis=-1)


def test_colours_shape_and_range(head, colors):
    template = head[0]
    assert colors.shape == template.shape and colors.dtype == np.float32
    assert colors.min() >= 0 and colors.max() <= 1


def test_lips_coloured_skin_elsewhere(head, colors):
    template, _faces, masks = head
    contact = np.concatenate([masks["lip_contact_upper"], masks["lip_contact_lower"]])
    assert np.all(_distance(colors[contact], DEFAULT_PALETTE.lips) < 0.05)
    forehead = masks["forehead"]
    assert np.all(_distance(colors[forehead], DEFAULT_PALETTE.skin) < 1e-6)
    lips = masks["lips"]
    assert np.mean(_distance(colors[lips], DEFAULT_PALETTE.lips) < 0.1) > 0.4  # the vermilion, not the whole ellipse


def test_inner_mouth_is_the_bag_and_dark(head, colors, standin_topology):
    template, faces, masks = head
    inside = inner_mouth(template, faces, masks)
    bag = standin_topology.mesh.bag
    assert np.isin(inside, bag).all() and len(inside) >= 0.9 * len(bag)
    luminance = colors[inside] @ np.array([0.2126, 0.7152, 0.0722])
    assert luminance.max() < 0.35 and np.median(luminance) < 0.2
    assert np.isin(masks["lip_contact_upper"], inside).sum() == 0  # the lips stay lip coloured


def test_pupils_dark_on_the_eyeballs_front(head, colors):
    template, _faces, masks = head
    for name in ("left_eyeball", "right_eyeball"):
        ids = masks[name]
        points = template[ids]
        center = (points.min(0) + points.max(0)) / 2
        front = ids[np.argmax(points[:, 2])]
        assert np.linalg.norm(colors[front]) < 0.1  # the pupil
        pupil = ids[np.linalg.norm(colors[ids], axis=1) < 0.15]
        assert np.all(template[pupil, 2] > center[2] + 0.9 * (points[:, 2].max() - center[2]))
        back = ids[points[:, 2] < center[2]]
        assert np.all(_distance(colors[back], DEFAULT_PALETTE.sclera) < 1e-6)
        iris = _distance(colors[ids], DEFAULT_PALETTE.iris) < 0.05
        assert iris.sum() >= 16


def test_missing_regions_and_wrong_masks_fail(head):
    template, faces, masks = head
    with pytest.raises(PtalkerError, match="left_eyeball"):
        head_colors(template, faces, {k: v for k, v in masks.items() if k != "left_eyeball"})
    with pytest.raises(PtalkerError, match="index past"):
        head_colors(template[:100], faces, masks)


def test_head_look_options(head):
    template, faces, masks = head
    face = head_look(*head, width=SIZE, height=SIZE)
    assert face.vertex_colors.shape == template.shape
    assert np.array_equal(face.frame_ids, face_frame_ids(template, masks))
    clay = head_look(*head, look="clay", width=SIZE, height=SIZE)
    assert clay.vertex_colors is None and clay.frame_ids is None and clay.base_color == CLAY_COLOR
    assert head_look(*head, look="clay", framing="face").frame_ids is not None
    assert head_look(*head, framing="head").frame_ids is None
    with pytest.raises(PtalkerError, match="look 'plastic' is unknown"):
        head_look(*head, look="plastic")
    with pytest.raises(PtalkerError, match="framing 'body' is unknown"):
        head_look(*head, framing="body")


def test_face_framing_holds_eyes_to_chin(head):
    template, _faces, masks = head
    box = mesh_bounds(template[face_frame_ids(template, masks)])
    assert box[1, 1] >= template[masks["eye_region"], 1].max() - 1e-9
    assert box[0, 1] < template[masks["lips"], 1].min() - 0.01  # the chin, below the lips
    assert box[1, 1] < template[:, 1].max() - 0.03  # not the scalp


def _dark_pixels(image: np.ndarray) -> int:
    """Dark pixels in the lower middle of a face-framed image (where the mouth is)."""
    height, width = image.shape[:2]
    crop = image[int(0.55 * height):int(0.85 * height), int(0.3 * width):int(0.7 * width)].astype(float)
    return int(((crop @ np.array([0.2126, 0.7152, 0.0722])) < 50).sum())


def test_open_mouth_renders_dark_inside(standin_model, head):
    neutral = standin_model.template.numpy()
    opened = standin_model(jaw_pose=torch.tensor([JAW_OPEN_RAD, 0.0, 0.0])).vertices.detach().numpy()
    sequence = np.stack([neutral, opened])
    settings = head_look(*head, width=SIZE, height=SIZE)
    with get_renderer("pyrender", head[1], settings, mesh_bounds(settings.framed(sequence))) as renderer:
        closed_image, open_image = (renderer.render(frame) for frame in sequence)
    assert _dark_pixels(open_image) > 20 * max(_dark_pixels(closed_image), 1)
    assert _dark_pixels(open_image) > 0.01 * SIZE * SIZE  # about 2% at this jaw angle
    # lips: reddish pixels where the mouth is, in both
    for image in (closed_image, open_image):
        middle = image[int(0.55 * SIZE):int(0.85 * SIZE), int(0.3 * SIZE):int(0.7 * SIZE)].astype(int)
        assert ((middle[..., 0] - middle[..., 1]) > 60).sum() > 50


def test_clay_look_renders_plain(head, standin_model):
    settings = head_look(*head, look="clay", width=SIZE, height=SIZE)
    with get_renderer("pyrender", head[1], settings) as renderer:
        image = renderer.render(standin_model.template.numpy()).astype(int)
    head_pixels = image[(image < 250).any(axis=-1)]
    assert np.abs(head_pixels[:, 0] - head_pixels[:, 1]).max() < 40  # grey-beige clay, no red lips
