"""The architecture registry: names checked, networks built from checkpoint configs, and every
architecture with a training strategy, a decoding loop and a network class that names it."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from helpers import strip_mesh, tiny_faceformer_config, tiny_ptalker_config

from ptalker.errors import PtalkerError
from ptalker.models.build import ARCHITECTURES, SECTIONS, build_model, check_architecture
from ptalker.models.faceformer import FaceFormer
from ptalker.models.flow_talker import FlowTalker, FlowTalkerConfig
from ptalker.models.ptalker import PTalker
from ptalker.pipelines.checkpoint import network_from_config
from ptalker.pipelines.decoding import DECODERS
from ptalker.training.objective import OBJECTIVES

TINY_CONFIGS = {"ptalker": tiny_ptalker_config(graph_nodes=8, num_speakers=2),
                "faceformer": tiny_faceformer_config(num_speakers=3)}
"""architecture -> a tiny config of its section, for a network on strip_mesh(30)."""


def test_check_architecture():
    assert check_architecture("faceformer") == "faceformer" and check_architecture("ptalker") == "ptalker"
    assert set(SECTIONS) == {"ptalker", "faceformer", "flow"}
    with pytest.raises(PtalkerError, match="'transformer' unknown; choose one of ptalker, faceformer, flow") as err:
        check_architecture("transformer", "model.arch")
    assert str(err.value).startswith("model.arch")


def test_train_config_rejects_unknown_architecture():
    from ptalker.training.config import TrainConfig, load_train_config

    with pytest.raises(PtalkerError, match="'nope' unknown; choose one of ptalker, faceformer"):
        TrainConfig(architecture="nope")
    with pytest.raises(PtalkerError, match="'nope' unknown"):
        load_train_config(None, ["architecture=nope"])
    assert load_train_config(None, ["architecture=faceformer"]).architecture == "faceformer"


def test_build_from_checkpoint_config():
    """A checkpoint config names its architecture (none: PTalker, as before the key existed)."""
    from ptalker.mesh.regions import RegionMasks
    from ptalker.mesh.topology import Topology

    template, faces = strip_mesh(30)
    topology = Topology(template, faces, RegionMasks(np.arange(5), np.arange(5, 10), "test"))
    baseline = TINY_CONFIGS["faceformer"]
    built = network_from_config({"architecture": "faceformer", "faceformer": asdict(baseline)}, topology, "x.pt")
    assert isinstance(built, FaceFormer) and built.num_vertices == 30 and built.config == baseline
    old = TINY_CONFIGS["ptalker"]
    built = network_from_config({"model": asdict(old)}, topology, "x.pt")  # no architecture key
    assert isinstance(built, PTalker) and built.config == old
    assert isinstance(build_model("faceformer", baseline, template, faces), FaceFormer)
    with pytest.raises(PtalkerError, match="x.pt: architecture: 'gpt' unknown"):
        network_from_config({"architecture": "gpt"}, topology, "x.pt")


@pytest.mark.parametrize("architecture", [a for a in ARCHITECTURES if a != "flow"])
def test_every_architecture_trains_and_decodes(architecture):
    """Training and decoding pick their strategy by the network's ``architecture``: each
    registered architecture has one of each, and the network built for it names it (the flow
    talker has its own training loop and sampler: the next test)."""
    assert architecture in OBJECTIVES, f"'{architecture}' has no training strategy in training.objective.OBJECTIVES"
    assert architecture in DECODERS, f"'{architecture}' has no decoding loop in pipelines.decoding.DECODERS"
    assert architecture in TINY_CONFIGS, f"'{architecture}': add a tiny config to TINY_CONFIGS to test it"
    network = build_model(architecture, TINY_CONFIGS[architecture], *strip_mesh(30))
    assert isinstance(network.config, SECTIONS[architecture][1])
    assert type(network).architecture == architecture, \
        f"build_model('{architecture}') gives a {type(network).__name__}, whose architecture is " \
        f"'{type(network).architecture}'"


def test_the_flow_talker_builds_on_a_ptalker():
    content = tiny_ptalker_config(graph_nodes=8)
    with pytest.raises(PtalkerError, match="architecture 'flow': give the sizes of its content PTalker"):
        build_model("flow", FlowTalkerConfig(), *strip_mesh(30))
    network = build_model("flow", FlowTalkerConfig(basis_size=6), *strip_mesh(30), content=content)
    assert isinstance(network, FlowTalker) and isinstance(network.content_model, PTalker)
    assert network.field.config.motion_dim == 6 and network.field.config.audio_dim == 2 * 6
    assert not any(p.requires_grad for p in network.content_model.parameters())


def test_strategies_name_only_registered_architectures():
    assert set(OBJECTIVES) <= set(ARCHITECTURES), f"training strategies for unknown architectures: {set(OBJECTIVES)}"
    assert set(DECODERS) <= set(ARCHITECTURES), f"decoding loops for unknown architectures: {set(DECODERS)}"
