"""What each knob of the shipped flow sampler does, on the session's tiny synthetic corpus (same
stand-in head): its speaker S02 has a pinned wide style (lip amplitude 1.4, jaw 1.3: the
training speakers' range is 0.6-1.4), so the truth of its sentences is a known target."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ptalker.audio.timeline import read_timeline
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.metrics.face_measures import lip_gap
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Style, load_model
from ptalker.pipelines.flow_sampling import SamplerSettings


@pytest.fixture(scope="module")
def animator():
    return load_model(FLOW_CHECKPOINT)


@pytest.fixture(scope="module")
def clips(tiny_corpus):
    """S02's two sentences: (reference item, target item, target's timeline)."""
    data = TalkingHeadDataset(tiny_corpus, get_dataset_spec("custom", tiny_corpus / "dataset.yaml"), "train")
    items = [data[i] for i, name in enumerate(data.sequences) if name.subject == "S02"]
    return items[0], items[1], read_timeline(tiny_corpus / "align" / f"{items[1].name.stem}.json")


def animate(animator, clips, **knobs):
    reference, target, timeline = clips
    style = Style(reference_audio=reference.audio.numpy(), reference_motion=reference.vertices.numpy(),
                  reference_template=reference.template.numpy())
    return animator.animate(target.audio.numpy(), style, target.template.numpy(), timeline=timeline,
                            settings=SamplerSettings(**knobs)).vertices


def amplitude(vertices, template, sets):
    return float(lip_gap(vertices, sets, template).std())


def test_style_scale_sets_the_intensity(animator, clips, standin_sets):
    template = clips[1].template.numpy()
    truth = amplitude(clips[1].vertices.numpy(), template, standin_sets)
    amplitudes = [amplitude(animate(animator, clips, cfg_style=scale), template, standin_sets) / truth
                  for scale in (0.0, 0.5, 1.0, 1.5, 2.0)]
    assert all(a < b for a, b in zip(amplitudes, amplitudes[1:])), amplitudes
    # the style moves the amplitude towards the speaker's: on the benchmark's test speakers scale 1
    # lands within 2% of it (benchmarks/flow_sampler.py); this speaker's style lies at the edge of
    # the training ranges and scale 1 reaches 0.65 of it
    assert amplitudes[2] - amplitudes[0] > 0.1 and amplitudes[2] < 1.15, amplitudes
    null = animator.animate(clips[1].audio.numpy(), None, template, timeline=clips[2]).vertices
    assert np.array_equal(animate(animator, clips, cfg_style=0.0), null)


def test_more_steps_approach_the_fine_solution(animator, clips):
    fine = animate(animator, clips, steps=200, solver="midpoint")
    for solver in ("euler", "midpoint"):
        distances = [np.abs(animate(animator, clips, steps=n, solver=solver) - fine).mean() for n in (2, 5, 10, 20)]
        assert all(a > b for a, b in zip(distances, distances[1:])), (solver, distances)


def test_temperature_sets_the_diversity(animator, clips):
    def spread(temperature):
        samples = [animate(animator, clips, temperature=temperature, seed=seed) for seed in range(8)]
        return np.mean([np.abs(a - b).mean() for a, b in itertools.combinations(samples, 2)])

    spreads = [spread(t) for t in (0.0, 0.5, 1.0)]
    assert spreads[0] == 0.0 and spreads[0] < spreads[1] < spreads[2], spreads
