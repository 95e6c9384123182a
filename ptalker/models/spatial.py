"""Spatial alignment: graph attention over the mesh, one motion feature per frame.

Every frame's vertex offsets (from the subject's template) are read at the nodes of a coarse
mesh graph (:mod:`ptalker.models.mesh_graph`); GATv2 layers (torch_geometric) let each node
attend to its neighbours, and an attention pooling with a learned query turns the nodes into
one feature vector per frame.

torch_geometric is imported when an encoder is built, not with this module: any import from it
loads the whole package (its __init__ imports every subpackage, the LLM modules and transformers
included), seconds that code without a PTalker network (the FaceFormer baseline, importers of
ptalker.models) need not pay.
"""

from __future__ import annotations

import torch
from torch import nn

from ptalker.models.mesh_graph import MeshGraph

NODE_INPUTS = 6
"""Per node: offset (3) and template position (3)."""
TEMPLATE_SCALE = 10.0
"""Template positions (metres, a head is ~0.2 m across) are multiplied by this: ~unit range."""


class SpatialEncoder(nn.Module):
    """Vertex offsets (B, T, V, 3) -> per-frame motion features (B, T, D).

    Args:
        graph: the coarse graph of the mesh topology.
        dim: D, feature size.
        layers: GATv2 layers.
        heads: attention heads per layer (their outputs are concatenated to ``dim``).
        offset_scale: offsets are multiplied by this before the network (metres -> ~unit range).
    """

    def __init__(self, graph: MeshGraph, dim: int = 64, layers: int = 2, heads: int = 4,
                 offset_scale: float = 100.0) -> None:
        from torch_geometric.nn import GATv2Conv

        super().__init__()
        # saved with the weights: a checkpoint carries the graph it was trained with
        self.register_buffer("sample_ids", torch.as_tensor(graph.sample_ids))
        self.register_buffer("edge_index", torch.as_tensor(graph.edge_index))
        self.offset_scale = offset_scale
        self.embed = nn.Linear(NODE_INPUTS, dim)
        self.convs = nn.ModuleList(GATv2Conv(dim, dim // heads, heads=heads) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.pool_query = nn.Parameter(torch.randn(dim) / dim ** 0.5)
        self.out = nn.Linear(dim, dim)
        self.dim = dim

    def _batched_edges(self, graphs: int) -> torch.Tensor:
        """(2, G*E) the graph's edges repeated for ``graphs`` copies of it."""
        num_nodes = len(self.sample_ids)
        shift = torch.arange(graphs, device=self.edge_index.device) * num_nodes  # (G,)
        return (self.edge_index[:, None, :] + shift[None, :, None]).reshape(2, -1)

    def forward(self, offsets: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
        """Per-frame features.

        Args:
            offsets: (B, T, V, 3) vertices minus the subject's template.
            template: (B, V, 3) the subjects' templates.

        Returns:
            (B, T, D) one feature per frame.
        """
        B, T = offsets.shape[:2]
        nodes_offsets = offsets[:, :, self.sample_ids] * self.offset_scale  # (B, T, N, 3)
        nodes_template = template[:, None, self.sample_ids].expand_as(nodes_offsets)  # (B, T, N, 3)
        h = self.embed(torch.cat([nodes_offsets, nodes_template * TEMPLATE_SCALE], dim=-1))  # (B, T, N, D)
        N = h.shape[2]
        h = h.reshape(B * T * N, self.dim)  # torch_geometric: one big graph of B*T copies
        edges = self._batched_edges(B * T)
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + torch.nn.functional.elu(conv(h, edges)))
        h = h.reshape(B, T, N, self.dim)
        weights = torch.softmax(h @ self.pool_query / self.dim ** 0.5, dim=2)  # (B, T, N)
        pooled = (weights[..., None] * h).sum(dim=2)  # (B, T, D)
        return self.out(pooled)
