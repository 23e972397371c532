"""GraphSAGE convolution with the mean aggregator (Hamilton et al., NeurIPS 2017).

``h'_i = W_l mean_{j -> i} h_j + b + W_r h_i``, PyG's ``SAGEConv(aggr="mean")`` with its
root weight: Algorithm 1 of the paper with the concatenation ``[h_i, mean_j h_j] W`` split
into two matrices. :func:`sample_neighbors` keeps at most ``k`` incoming edges per node,
drawn uniformly: the paper's fixed-size neighbourhood sample, one draw per layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .graph_ops import check_graph, scatter_mean


def sample_neighbors(
    edge_index: Tensor, num_nodes: int, k: int, generator: torch.Generator | None = None
) -> Tensor:
    """Keep at most ``k`` incoming edges of every node, chosen uniformly without replacement.

    Nodes with ``k`` or fewer neighbours keep all of them. Every edge gets a random key;
    the edges are sorted by target, then by key, and the first ``k`` of each target stay.

    Args:
        edge_index: Edges ``(2, E)``.
        num_nodes: ``N``.
        k: Neighbours kept per node (``S_l`` in the paper's Algorithm 2).
        generator: Random source (on the edges' device); the global one when None.

    Returns:
        Edges ``(2, E')`` with ``E' <= N k``.
    """
    target = edge_index[1]
    edges = target.shape[0]
    keys = torch.rand(edges, generator=generator, device=target.device)
    order = torch.argsort(keys)
    order = order[torch.argsort(target[order], stable=True)]  # by target, random within
    counts = torch.bincount(target, minlength=num_nodes)
    starts = torch.cumsum(counts, 0) - counts  # (N,) first position of each target
    rank = torch.arange(edges, device=target.device) - starts[target[order]]
    return edge_index[:, order[rank < k]]


class SAGEConv(nn.Module):
    """GraphSAGE layer: mean of the neighbours' features (message, aggregate), two linears.

    Parameters and their names are PyG's (``lin_l`` with a bias for the neighbours,
    ``lin_r`` without one for the node itself), so a ``SAGEConv`` state dict loads as it is.
    Shapes: ``(N, F_in), (2, E) -> (N, F_out)``; cost ``O(E F_in + N F_in F_out)``.

    Args:
        in_features: ``F_in``.
        out_features: ``F_out``.
        root_weight: Add ``W_r h_i`` (the node's own features); PyG's default.
        bias: Bias of the neighbour projection.
    """

    def __init__(
        self, in_features: int, out_features: int, root_weight: bool = True, bias: bool = True
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.lin_l = nn.Linear(in_features, out_features, bias=bias)
        self.lin_r = nn.Linear(in_features, out_features, bias=False) if root_weight else None

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Aggregate the neighbours by their mean and combine with the node's own features.

        Args:
            x: Node features ``(N, F_in)``.
            edge_index: Edges ``(2, E)`` (possibly a :func:`sample_neighbors` sample).

        Returns:
            ``(N, F_out)`` features.
        """
        check_graph(x, edge_index, self.in_features)
        source, target = edge_index[0], edge_index[1]
        neighbours = scatter_mean(x[source], target, x.shape[0])  # (N, F_in)
        out = self.lin_l(neighbours)  # update
        if self.lin_r is not None:
            out = out + self.lin_r(x)
        return out
