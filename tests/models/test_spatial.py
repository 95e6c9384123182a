"""The coarse mesh graph and the graph-attention spatial encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.mesh.regions import RegionMasks
from ptalker.models.mesh_graph import coarsen_mesh, farthest_point_sampling, mesh_edges
from ptalker.models.spatial import SpatialEncoder


@pytest.fixture(scope="module")
def masks(standin_model):
    return RegionMasks.from_flame_masks(standin_model.masks_path).all


@pytest.fixture(scope="module")
def graph(standin_model, masks):
    return coarsen_mesh(standin_model.template.numpy(), standin_model.faces, 64, candidates=masks["face"])


def grid_mesh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid of vertices in the plane, two triangles per cell."""
    xs, ys = np.meshgrid(np.arange(n), np.arange(n))
    vertices = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n)], 1).astype(float)
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
            faces += [(a, b, c), (b, d, c)]
    return vertices, np.array(faces)


def test_mesh_edges_and_sampling():
    vertices, faces = grid_mesh(5)
    edges = mesh_edges(faces, len(vertices))
    assert (edges != edges.T).nnz == 0 and edges.nnz == 2 * (2 * 5 * 4 + 4 * 4)  # sides + diagonals
    picks = farthest_point_sampling(vertices, 5)
    assert len(set(picks.tolist())) == 5 and picks[0] == 12  # the centre first, then the corners
    assert {0, 4, 20, 24} <= set(picks.tolist())


def test_coarse_graph_of_a_grid():
    vertices, faces = grid_mesh(9)
    graph = coarsen_mesh(vertices, faces, 9)
    assert graph.num_nodes == 9 and np.all(graph.region >= 0)
    assert np.array_equal(graph.region[graph.sample_ids], np.arange(9)), "a sample lies in its own region"
    pairs = set(map(tuple, graph.edge_index.T.tolist()))
    assert all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    assert 1 <= min(np.bincount(graph.edge_index[0])) and max(np.bincount(graph.edge_index[0])) <= 8


def test_stand_in_graph_keeps_the_lips_apart(graph, masks):
    assert graph.num_nodes == 64 and set(graph.sample_ids) <= set(masks["face"])
    upper = set(graph.region[masks["lip_contact_upper"]])
    lower = set(graph.region[masks["lip_contact_lower"]])
    assert not upper & lower, "the mouth cut should separate the lips' regions"


def test_too_many_nodes():
    vertices, faces = grid_mesh(3)
    with pytest.raises(PtalkerError, match="graph nodes"):
        coarsen_mesh(vertices, faces, 10)


def test_spatial_encoder(graph, standin_model):
    torch.manual_seed(0)
    encoder = SpatialEncoder(graph, dim=16, layers=2, heads=2)
    template = standin_model.template[None].expand(2, -1, -1)
    offsets = torch.randn(2, 5, standin_model.num_vertices, 3) * 1e-3
    features = encoder(offsets, template)
    assert features.shape == (2, 5, 16) and torch.isfinite(features).all()
    # frames are independent: changing frame 3 changes only frame 3's feature
    changed = offsets.clone()
    changed[:, 3] += 2e-3
    other = encoder(changed, template)
    assert torch.allclose(other[:, [0, 1, 2, 4]], features[:, [0, 1, 2, 4]], atol=1e-6)
    assert not torch.allclose(other[:, 3], features[:, 3], atol=1e-4)
    # only the graph's vertices are read
    away = offsets.clone()
    unused = np.setdiff1d(np.arange(standin_model.num_vertices), graph.sample_ids)
    away[:, :, unused] += 1e-2
    assert torch.allclose(encoder(away, template), features, atol=1e-6)
    features.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())
