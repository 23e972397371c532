"""Graph convolution (Kipf & Welling, ICLR 2017), equal to PyG's ``GCNConv``.

``H' = D^-1/2 (A + I) D^-1/2 H W + b`` (Eq. 2 of the paper): the adjacency with a
self-loop on every node, normalised symmetrically by the degrees ``D`` of ``A + I``. The
normalised adjacency is a sparse ``(N, N)`` tensor built once per graph and cached, and
the propagation is one ``torch.sparse.mm``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .graph_ops import (
    add_remaining_self_loops,
    check_graph,
    in_degree,
    is_tracing,
    scatter_sum,
)


def glorot_(weight: Tensor) -> Tensor:
    """Glorot/Xavier uniform initialisation over the last two dimensions (PyG's ``glorot``).

    Args:
        weight: A parameter of shape ``(..., fan_out, fan_in)``, changed in place.

    Returns:
        ``weight``, of the same shape, uniform in ``+-sqrt(6 / (fan_in + fan_out))``.
    """
    bound = math.sqrt(6.0 / (weight.shape[-2] + weight.shape[-1]))
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def gcn_edge_weights(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    """The edges of ``A + I`` and their weights ``1 / sqrt(d_i d_j)`` (PyG's ``gcn_norm``).

    ``d`` counts a node's incoming edges, its self-loop included; repeated edges add up.

    Args:
        edge_index: Edges ``(2, E)``, source first.
        num_nodes: ``N``.

    Returns:
        Edges ``(2, E')`` (existing self-loops replaced by one per node) and weights ``(E',)``.
    """
    edges = add_remaining_self_loops(edge_index, num_nodes)
    source, target = edges[0], edges[1]
    degree = in_degree(target, num_nodes)
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    return edges, inv_sqrt[source] * inv_sqrt[target]


def gcn_adjacency(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The normalised adjacency ``D^-1/2 (A + I) D^-1/2`` as a sparse matrix.

    Entry ``(i, j)`` weights the message from ``j`` to ``i``: ``1 / sqrt(d_i d_j)`` for an
    edge ``j -> i`` or ``i = j`` (:func:`gcn_edge_weights`).

    Args:
        edge_index: Edges ``(2, E)``, source first.
        num_nodes: ``N``.

    Returns:
        A coalesced sparse COO tensor ``(N, N)``.
    """
    edges, weight = gcn_edge_weights(edge_index, num_nodes)
    indices = edges.flip(0)  # row: the node receiving the message
    # The indices are node ids of this graph, so the invariant checks can stay off.
    adjacency = torch.sparse_coo_tensor(
        indices, weight, (num_nodes, num_nodes), check_invariants=False
    )
    return adjacency.coalesce()


class AdjacencyCache:
    """Remembers the last graph's normalised adjacency, so a fixed graph builds it once.

    A graph counts as the same when it is the same tensor, or an equal one (full-batch
    training moves the same edge list to the device every step); comparing costs one
    pass over ``E`` indices, building costs a sort.
    """

    def __init__(self) -> None:
        self.edge_index: Tensor | None = None
        self.num_nodes = -1
        self.adjacency: Tensor | None = None

    def get(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        """The normalised adjacency of a graph, built when the graph changes.

        Args:
            edge_index: Edges ``(2, E)``.
            num_nodes: ``N``.

        Returns:
            The sparse ``(N, N)`` adjacency of :func:`gcn_adjacency`.
        """
        cached = self.edge_index
        same = (
            cached is not None
            and self.adjacency is not None
            and num_nodes == self.num_nodes
            and cached.shape == edge_index.shape
            and cached.device == edge_index.device
            and (cached is edge_index or torch.equal(cached, edge_index))
        )
        if not same or self.adjacency is None:
            self.adjacency = gcn_adjacency(edge_index, num_nodes)
            self.num_nodes = num_nodes
        self.edge_index = edge_index
        return self.adjacency


class GCNConv(nn.Module):
    """One graph convolution: message ``x W``, aggregation by the normalised adjacency, bias.

    Parameters and their names are PyG's (``lin.weight`` ``(out, in)``, ``bias``), so a
    ``GCNConv`` state dict loads as it is. Shapes: ``(N, F_in), (2, E) -> (N, F_out)``;
    cost ``O(N F_in F_out + (E + N) F_out)``.

    Args:
        in_features: ``F_in``.
        out_features: ``F_out``.
        bias: Add a learned bias after aggregating.
        cached: Keep the normalised adjacency of the last graph (transductive training on
            one fixed graph); False rebuilds it every call.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, cached: bool = True
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.cache = AdjacencyCache() if cached else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot weights and a zero bias, as PyG initialises them."""
        glorot_(self.lin.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def adjacency(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        """The sparse normalised adjacency of this graph (cached when ``cached``).

        Args:
            edge_index: Edges ``(2, E)``.
            num_nodes: ``N``.

        Returns:
            ``(N, N)`` sparse adjacency.
        """
        if self.cache is None or is_tracing():  # the cache compares tensor values
            return gcn_adjacency(edge_index, num_nodes)
        return self.cache.get(edge_index, num_nodes)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Convolve node features over the graph.

        Args:
            x: Node features ``(N, F_in)``.
            edge_index: Edges ``(2, E)``.

        Returns:
            ``(N, F_out)`` features.
        """
        check_graph(x, edge_index, self.in_features)
        messages = self.lin(x)  # message: (N, F_out)
        num_nodes = x.shape[0]
        if is_tracing():  # torch.export has no sparse kernels: the same sum by scatter
            edges, weight = gcn_edge_weights(edge_index, num_nodes)
            weighted = messages[edges[0]] * weight.unsqueeze(-1).to(messages.dtype)  # (E', F)
            out = scatter_sum(weighted, edges[1], num_nodes)
        else:  # aggregate: sum_j a_ij m_j; sparse.mm runs in fp32 (no half sparse kernel)
            adjacency = self.adjacency(edge_index, num_nodes).to(torch.float32)
            out = torch.sparse.mm(adjacency, messages.float()).to(messages.dtype)
        if self.bias is not None:  # update
            out = out + self.bias
        return out
