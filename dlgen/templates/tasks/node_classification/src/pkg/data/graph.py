"""One graph in memory, its node splits, and the offline planted-partition generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .config import DataConfig

UNLABELLED = -1


@dataclass
class Graph:
    """Node features, edges, labels and split masks of one graph.

    Attributes:
        x: Node features ``(N, F)`` float32.
        edge_index: Edges ``(2, E)`` int64, source first; an undirected graph lists
            both directions.
        y: Labels ``(N,)`` int64, ``-1`` for an unlabelled node.
        train_mask: ``(N,)`` bool, the nodes whose labels train the model.
        val_mask: ``(N,)`` bool, the nodes that select the best epoch.
        test_mask: ``(N,)`` bool, the nodes of the final test.
        node_ids: The nodes' names in the source (e.g. the CSV's ids); None: ``0..N-1``.
        class_names: Class names in label order, when the source has them.
    """

    x: Tensor
    edge_index: Tensor
    y: Tensor
    train_mask: Tensor
    val_mask: Tensor
    test_mask: Tensor
    node_ids: list[str] | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def num_nodes(self) -> int:
        """``N``."""
        return int(self.x.shape[0])

    def node_name(self, index: int) -> str:
        """The name of a node in the source.

        Args:
            index: The node's index.

        Returns:
            Its id in the source, or the index itself when the source has no ids.
        """
        return self.node_ids[index] if self.node_ids is not None else str(index)


def coalesce(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Drop self-loops and repeated edges; sort by target, then source (PyG's order).

    Args:
        edge_index: Edges ``(2, E)``.
        num_nodes: ``N``.

    Returns:
        Unique edges ``(2, E')``.
    """
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    keys = torch.unique(edge_index[1] * num_nodes + edge_index[0])  # sorted
    return torch.stack([keys % num_nodes, keys // num_nodes])


def to_undirected(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Both directions of every edge, coalesced.

    Args:
        edge_index: Edges ``(2, E)``.
        num_nodes: ``N``.

    Returns:
        Edges ``(2, E')`` where ``j -> i`` exists whenever ``i -> j`` does.
    """
    return coalesce(torch.cat([edge_index, edge_index.flip(0)], dim=1), num_nodes)


def normalize_rows(x: Tensor) -> Tensor:
    """Scale every node's features to sum to 1, as PyG's ``NormalizeFeatures``.

    The features are shifted by their minimum first; a row summing to less than 1 (an
    empty bag of words) is divided by 1 instead.

    Args:
        x: ``(N, F)`` features.

    Returns:
        ``(N, F)`` row-normalised features.
    """
    if x.numel() == 0:
        return x
    x = x - x.min()
    return x / x.sum(dim=-1, keepdim=True).clamp(min=1.0)


def random_masks(
    y: Tensor, train_fraction: float, val_fraction: float, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Split the labelled nodes at random into train, validation and test masks.

    Args:
        y: ``(N,)`` labels, ``-1`` for unlabelled nodes (in no split).
        train_fraction: Share of the labelled nodes that train (at least one node).
        val_fraction: Share that validates; the rest is the test split.
        seed: Seeds the permutation.

    Returns:
        ``(train, val, test)`` boolean masks ``(N,)``.

    Raises:
        ValueError: If fewer than three nodes are labelled.
    """
    labelled = torch.nonzero(y >= 0).flatten()
    count = labelled.numel()
    if count < 3:
        raise ValueError(f"only {count} node(s) are labelled; a split needs at least 3")
    generator = torch.Generator().manual_seed(seed)
    order = labelled[torch.randperm(count, generator=generator)]
    train = max(1, round(train_fraction * count))
    val = min(round(val_fraction * count), count - train - 1)
    masks = []
    for part in (order[:train], order[train : train + val], order[train + val :]):
        mask = torch.zeros(y.shape[0], dtype=torch.bool)
        mask[part] = True
        masks.append(mask)
    return masks[0], masks[1], masks[2]


def planted_partition(config: DataConfig) -> Graph:
    """A planted-partition graph (a stochastic block model) with bag-of-words features.

    ``num_nodes`` nodes fall into ``num_classes`` equal communities (the labels). Each of
    the ``N * avg_degree / 2`` undirected edges starts at a random node and ends, with
    probability ``synthetic_homophily``, at a random node of the same community, else at
    a random node of another one. Every node draws ``synthetic_words_per_node`` binary
    "words" over ``num_features``: a word comes from its community's topic (a block of
    ``F / K`` features) with probability ``synthetic_feature_signal``, else from all
    features. Few topic words make single nodes ambiguous and their neighbourhoods
    telling, so a GCN clearly beats a per-node classifier. Seeded by ``split_seed``.

    Args:
        config: The data config (sizes and the ``synthetic_*`` options).

    Returns:
        The graph with random train/val/test masks (``train_fraction``, ``val_fraction``).
    """
    rng = np.random.default_rng(config.split_seed)
    nodes, classes, features = config.num_nodes, config.num_classes, config.num_features
    y = rng.permutation(np.arange(nodes) % classes)
    members = [np.flatnonzero(y == c) for c in range(classes)]
    edges = max(1, round(nodes * config.synthetic_avg_degree / 2))
    source = rng.integers(0, nodes, edges)
    same = rng.random(edges) < config.synthetic_homophily
    target = np.empty(edges, dtype=np.int64)
    for c in range(classes):
        inside = same & (y[source] == c)
        target[inside] = rng.choice(members[c], int(inside.sum()))
        outside = ~same & (y[source] == c)
        others = np.flatnonzero(y != c)
        target[outside] = rng.choice(others, int(outside.sum())) if others.size else source[outside]
    edge_index = to_undirected(torch.from_numpy(np.stack([source, target])).long(), nodes)
    topics = np.array_split(rng.permutation(features), classes)
    words = max(1, min(config.synthetic_words_per_node, features // 2))
    x = np.zeros((nodes, features), dtype=np.float32)
    for node in range(nodes):
        topic = topics[y[node]] if topics[y[node]].size else np.arange(features)
        from_topic = rng.random(words) < config.synthetic_feature_signal
        chosen = np.where(
            from_topic, rng.choice(topic, words), rng.integers(0, features, words)
        )
        x[node, chosen] = 1.0
    labels = torch.from_numpy(y).long()
    train, val, test = random_masks(
        labels, config.train_fraction, config.val_fraction, config.split_seed
    )
    return Graph(torch.from_numpy(x), edge_index, labels, train, val, test)
