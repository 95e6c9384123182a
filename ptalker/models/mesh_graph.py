"""A coarse graph of a mesh for graph attention: sampled vertices joined where their regions meet.

Vertices are picked by farthest-point sampling (on the template, deterministic); every mesh
vertex belongs to the region of the sample nearest to it along the mesh (multi-source Dijkstra
over the edge graph), and two samples are joined when a mesh edge crosses between their regions.
The result keeps the mesh's topology (the lips' two sides stay apart where the mouth is cut)
at a size graph attention can afford every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from ptalker.errors import PtalkerError


@dataclass
class MeshGraph:
    """The coarse graph of one mesh topology."""

    sample_ids: np.ndarray
    """(N,) int64 mesh vertex of each graph node."""
    edge_index: np.ndarray
    """(2, E) int64 directed node pairs, both directions of every undirected edge, no self loops."""
    region: np.ndarray
    """(V,) int64 node whose region each mesh vertex lies in."""

    @property
    def num_nodes(self) -> int:
        return len(self.sample_ids)


def mesh_edges(faces: np.ndarray, num_vertices: int) -> scipy.sparse.csr_matrix:
    """(V, V) symmetric 0/1 sparse matrix: 1 where a triangle edge joins two vertices."""
    faces = np.asarray(faces, dtype=np.int64)
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3F, 2)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices))
    graph = graph.tocsr()
    graph.data[:] = 1.0  # duplicates summed above; every edge counts once
    return graph


def farthest_point_sampling(points: np.ndarray, count: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """(count,) ids of ``points`` (V, 3) spread evenly, starting from the candidate nearest the
    candidates' centroid; only ``candidates`` (ids) are picked when given."""
    ids = np.arange(len(points)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    pool = points[ids]
    chosen = [int(np.argmin(np.linalg.norm(pool - pool.mean(axis=0), axis=1)))]
    distance = np.linalg.norm(pool - pool[chosen[0]], axis=1)
    for _ in range(count - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(pool - pool[chosen[-1]], axis=1))
    return ids[np.asarray(chosen)]


def coarsen_mesh(vertices: np.ndarray, faces: np.ndarray, num_nodes: int,
                 candidates: np.ndarray | None = None) -> MeshGraph:
    """The coarse graph of a mesh (see module docstring).

    Args:
        vertices: (V, 3) template positions.
        faces: (F, 3) triangle vertex ids.
        num_nodes: N, how many vertices to sample (2 <= N <= number of candidates).
        candidates: ids the samples may come from (e.g. the face region); default every vertex.
            Regions still cover every vertex reachable from a sample.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    pool = len(vertices) if candidates is None else len(candidates)
    if not 2 <= num_nodes <= pool:
        raise PtalkerError(f"graph nodes: {num_nodes} requested, expected 2..{pool} (the vertices "
                           "the graph may sample from)")
    rows, cols = mesh_edges(faces, len(vertices)).nonzero()
    lengths = scipy.sparse.csr_matrix((np.linalg.norm(vertices[rows] - vertices[cols], axis=1) + 1e-12,
                                       (rows, cols)), shape=(len(vertices), len(vertices)))
    samples = farthest_point_sampling(vertices, num_nodes, candidates)
    _, _, sources = dijkstra(lengths, directed=False, indices=samples, min_only=True,
                             return_predecessors=True)
    node_of_sample = {int(v): i for i, v in enumerate(samples)}
    region = np.array([node_of_sample.get(int(s), -1) for s in sources], dtype=np.int64)
    a, b = region[rows], region[cols]
    keep = (a != b) & (a >= 0) & (b >= 0)
    pairs = np.unique(np.stack([a[keep], b[keep]], axis=1), axis=0)  # both directions already present
    return MeshGraph(sample_ids=samples.astype(np.int64), edge_index=pairs.T.astype(np.int64), region=region)
