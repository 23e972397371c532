"""Edge-list operations the message-passing layers share (PyTorch Geometric's conventions).

A graph of ``N`` nodes is an ``edge_index`` of shape ``(2, E)`` (int64): edge ``e`` goes
from the source node ``edge_index[0, e]`` to the target node ``edge_index[1, e]``, and a
layer sends messages along the edges, so node ``i`` aggregates over its incoming edges
(PyG's ``flow="source_to_target"``). An undirected graph lists every edge in both
directions. Everything here is plain PyTorch: scatter operations through ``index_add_``
and ``scatter_reduce``, no compiled extension.
"""

from __future__ import annotations

import torch
from torch import Tensor


def is_tracing() -> bool:
    """Whether ``torch.compile`` or ``torch.export`` is tracing.

    Returns:
        True while tracing: code that reads tensor values must be skipped.
    """
    exporting = getattr(torch.compiler, "is_exporting", None)
    return torch.compiler.is_compiling() or bool(exporting is not None and exporting())


def check_graph(
    x: Tensor, edge_index: Tensor, in_features: int | None = None, check_bounds: bool = False
) -> None:
    """Check node features and an edge list before a layer uses them.

    Args:
        x: Node features ``(N, F)``.
        edge_index: Edges ``(2, E)``, integer node indices in ``[0, N)``.
        in_features: The expected ``F``, or None to accept any.
        check_bounds: Also check that every index is a node (reads the values back from
            the device, so a model does it once per forward, not every layer; skipped
            while ``torch.compile`` or ``torch.export`` trace).

    Raises:
        ValueError: If a shape, a dtype or (with ``check_bounds``) an index is wrong.
    """
    if x.ndim != 2:
        raise ValueError(f"node features must be (N, F), got shape {tuple(x.shape)}")
    if in_features is not None and x.shape[1] != in_features:
        raise ValueError(f"expected {in_features} features per node, got {x.shape[1]}")
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must be (2, E), got shape {tuple(edge_index.shape)}")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise ValueError(f"edge_index must hold integer node indices, got {edge_index.dtype}")
    if check_bounds and not is_tracing() and edge_index.numel() > 0:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= x.shape[0]:
            raise ValueError(
                f"edge_index refers to nodes {low}..{high} but the graph has {x.shape[0]} nodes"
            )


def remove_self_loops(edge_index: Tensor) -> Tensor:
    """Drop the edges ``i -> i``.

    Args:
        edge_index: Edges ``(2, E)``.

    Returns:
        Edges ``(2, E')`` without self-loops, in their original order.
    """
    return edge_index[:, edge_index[0] != edge_index[1]]


def add_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Append one self-loop ``i -> i`` for every node (existing ones are kept as well).

    Args:
        edge_index: Edges ``(2, E)``.
        num_nodes: ``N``.

    Returns:
        Edges ``(2, E + N)``: the input's, then ``0 -> 0, ..., N-1 -> N-1``.
    """
    loops = torch.arange(num_nodes, device=edge_index.device, dtype=edge_index.dtype)
    return torch.cat([edge_index, loops.expand(2, num_nodes)], dim=1)


def add_remaining_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Add a self-loop to every node that has none (PyG's ``add_remaining_self_loops``).

    Args:
        edge_index: Edges ``(2, E)``.
        num_nodes: ``N``.

    Returns:
        Edges: the input's non-loop edges, then exactly one loop per node.
    """
    return add_self_loops(remove_self_loops(edge_index), num_nodes)


def in_degree(target: Tensor, num_nodes: int, weight: Tensor | None = None) -> Tensor:
    """Incoming edges per node (or the sum of their weights).

    Args:
        target: Target node of every edge ``(E,)``.
        num_nodes: ``N``.
        weight: Edge weights ``(E,)``; None counts edges.

    Returns:
        ``(N,)`` float degrees.
    """
    values = weight if weight is not None else torch.ones(target.shape[0], device=target.device)
    degree = torch.zeros(num_nodes, dtype=values.dtype, device=target.device)
    return degree.index_add_(0, target, values)


def scatter_sum(values: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Sum the rows of ``values`` that share an index: the "add" aggregation.

    Args:
        values: One row per edge ``(E, ...)``.
        index: The node each row goes to ``(E,)``.
        num_nodes: ``N``.

    Returns:
        ``(N, ...)`` sums (zero for a node no row goes to).
    """
    out = values.new_zeros((num_nodes, *values.shape[1:]))
    return out.index_add_(0, index, values)


def scatter_mean(values: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Average the rows of ``values`` that share an index: the "mean" aggregation.

    Args:
        values: One row per edge ``(E, D)``.
        index: The node each row goes to ``(E,)``.
        num_nodes: ``N``.

    Returns:
        ``(N, D)`` means (zero for a node without incoming rows).
    """
    total = scatter_sum(values, index, num_nodes)
    count = in_degree(index, num_nodes).clamp(min=1).to(values.dtype)
    return total / count.unsqueeze(-1)


def scatter_softmax(scores: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Softmax of edge scores over the edges that share a target node.

    ``softmax_j(s_ij) = exp(s_ij - m_i) / sum_k exp(s_ik - m_i)`` with ``m_i`` the largest
    score into node ``i`` (subtracted for numerical stability), as PyG's ``softmax``.

    Args:
        scores: One score per edge and head ``(E, H)``.
        index: Target node of every edge ``(E,)``.
        num_nodes: ``N``.

    Returns:
        ``(E, H)`` weights; the weights into each node sum to 1 per head.
    """
    heads = scores.shape[1:]
    expanded = index.view(-1, *([1] * len(heads))).expand_as(scores)  # (E, H)
    maximum = scores.new_full((num_nodes, *heads), float("-inf"))
    maximum = maximum.scatter_reduce(0, expanded, scores, reduce="amax", include_self=True)
    exp = (scores - maximum[index]).exp()  # (E, H)
    total = scatter_sum(exp, index, num_nodes)
    return exp / (total[index] + 1e-16)
