"""Preview settings: the face look on the head model's mesh, clay on any other."""

from __future__ import annotations

import pytest

from ptalker.errors import PtalkerError
from ptalker.pipelines.preview import preview_settings


def test_face_look_on_the_head_clay_elsewhere(standin_model):
    count = standin_model.num_vertices
    face = preview_settings(count, 64)
    assert face.vertex_colors.shape == (count, 3) and face.frame_ids is not None and face.width == 64
    clay = preview_settings(count, 64, look="clay")
    assert clay.vertex_colors is None and clay.frame_ids is None
    other = preview_settings(100, 64)
    assert other.vertex_colors is None and other.frame_ids is None
    with pytest.raises(PtalkerError, match="needs the head model's mesh"):
        preview_settings(100, 64, look="face")
    with pytest.raises(PtalkerError, match="look 'wax' is unknown"):
        preview_settings(count, 64, look="wax")
