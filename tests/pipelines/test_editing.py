"""Infilling a span of an existing performance with the shipped flow sampler (issue 18, first
part): frames outside the span come back bit-identical, the span changes, bad spans and inputs
are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.pipelines.animator import FLOW_CHECKPOINT, load_model
from ptalker.pipelines.editing import infill, span_frames


@pytest.fixture(scope="module")
def animator():
    return load_model(FLOW_CHECKPOINT)


@pytest.fixture(scope="module")
def performance(tiny_corpus):
    return TalkingHeadDataset(tiny_corpus, get_dataset_spec("custom", tiny_corpus / "dataset.yaml"), "train")[0]


def test_infill_changes_the_span_only(animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    out = infill(animator, vertices, audio, (0.5, 1.5), template=performance.template.numpy())
    assert out.shape == vertices.shape and out.dtype == np.float32
    assert np.array_equal(out[:15], vertices[:15]) and np.array_equal(out[45:], vertices[45:])
    assert np.abs(out[15:45] - vertices[15:45]).max() > 1e-4


def test_bad_spans_and_inputs_are_clear_errors(animator, tiny_animator, performance):
    vertices, audio = performance.vertices.numpy(), performance.audio.numpy()
    seconds = len(vertices) / 30.0
    with pytest.raises(PtalkerError, match=f"--span 1:9: expected start < end inside the sequence \\(0 to {seconds:.2f} s\\)"):
        infill(animator, vertices, audio, (1.0, 9.0))
    with pytest.raises(PtalkerError, match="--span 2:1"):
        span_frames((2.0, 1.0), 90, 30.0)
    with pytest.raises(PtalkerError, match="audio: lasts .* frames at 30 fps, the performance 20"):
        infill(animator, vertices[:20], audio, (0.1, 0.5))
    with pytest.raises(PtalkerError, match="performance: expected \\(T, .*, 3\\) vertices of the checkpoint's mesh"):
        infill(animator, vertices[:, :100], audio, (0.1, 0.5))
    with pytest.raises(PtalkerError, match="editing needs a flow checkpoint's sampler"):
        infill(tiny_animator, vertices, audio, (0.1, 0.5))
