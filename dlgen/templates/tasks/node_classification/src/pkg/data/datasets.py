"""Datasets of node batches of one graph: what the engine's loaders iterate.

Node classification on one graph is transductive: every split sees the whole graph and
its labels are read at the split's nodes only. A sample is therefore the whole graph with
a node mask, ``(x (N, F), edge_index (2, E), y (N,), mask (N,))``: the validation and test
splits are one sample each (their mask), the training split one sample per node batch.
With ``data.node_batch_size: null`` (the papers' full-batch training) that is one sample
holding every training node, so an epoch is one optimizer step; a size ``b`` cuts the
training nodes, in a seeded order, into batches of ``b`` (every one still propagates over
the whole graph). A collated batch stacks ``B`` samples of the same graph; the task reads
the graph once and the union of the masks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .graph import Graph, normalize_rows, planted_partition
from .sources import load_csv, load_karate_club, load_planetoid

GraphSample = tuple[Tensor, Tensor, Tensor, Tensor]
LOADERS: dict[str, Callable[[DataConfig], Graph]] = {
    "synthetic": planted_partition,
    "planetoid": load_planetoid,
    "csv": load_csv,
    "networkx": load_karate_club,
}


class NodeBatches(Dataset[GraphSample]):
    """One graph and node masks: sample ``i`` is the graph with mask ``i``.

    Args:
        graph: The graph (its tensors are shared by every sample).
        masks: ``(N,)`` boolean masks, one per sample.
    """

    def __init__(self, graph: Graph, masks: list[Tensor]) -> None:
        self.graph = graph
        self.masks = masks

    def __len__(self) -> int:
        """Number of node batches.

        Returns:
            The number of masks.
        """
        return len(self.masks)

    def __getitem__(self, index: int) -> GraphSample:
        """The graph with one node batch.

        Args:
            index: Which batch.

        Returns:
            ``(x (N, F), edge_index (2, E), y (N,), mask (N,))``.
        """
        graph = self.graph
        return graph.x, graph.edge_index, graph.y, self.masks[index]


def node_batches(mask: Tensor, size: int | None, seed: int) -> list[Tensor]:
    """Cut a mask's nodes into batches of ``size`` in a seeded random order.

    Args:
        mask: ``(N,)`` boolean mask.
        size: Nodes per batch; None keeps one batch with all of them.
        seed: Seeds the order.

    Returns:
        Masks ``(N,)``, the last batch possibly smaller.
    """
    if size is None:
        return [mask]
    nodes = torch.nonzero(mask).flatten()
    generator = torch.Generator().manual_seed(seed)
    nodes = nodes[torch.randperm(nodes.numel(), generator=generator)]
    batches = []
    for start in range(0, nodes.numel(), size):
        batch = torch.zeros_like(mask)
        batch[nodes[start : start + size]] = True
        batches.append(batch)
    return batches


def check_graph_sizes(graph: Graph, config: DataConfig, require_training: bool = True) -> None:
    """Check that a loaded graph has the sizes the model is built for.

    Args:
        graph: The loaded graph.
        config: The data config.
        require_training: Whether the graph must have training nodes (not for inference).

    Raises:
        ValueError: Naming the key to set.
    """
    features = int(graph.x.shape[1])
    if features != config.num_features:
        raise ValueError(
            f"the {config.source} graph has {features} features per node but "
            f"data.num_features is {config.num_features}; set data.num_features={features}"
        )
    labels = int(graph.y.max()) + 1 if graph.y.numel() else 0
    if labels > config.num_classes:
        raise ValueError(
            f"the {config.source} graph has labels up to {labels - 1} but data.num_classes is "
            f"{config.num_classes}; set data.num_classes={labels}"
        )
    if require_training and not bool(graph.train_mask.any()):
        raise ValueError(f"the {config.source} graph has no training node")


def load_graph(config: DataConfig) -> Graph:
    """The configured source's graph, features row-normalised when asked.

    Args:
        config: The data config.

    Returns:
        The graph and its split masks.

    Raises:
        FileNotFoundError: If files of the source are missing (and not downloaded).
        ValueError: If the graph disagrees with the config.
    """
    graph = LOADERS[config.source](config)
    if config.normalize_features:
        graph.x = normalize_rows(graph.x)
    check_graph_sizes(graph, config)
    return graph


def build_datasets(config: DataConfig) -> tuple[DataSplits, Graph]:
    """The train, validation and test datasets of the configured graph.

    Args:
        config: The data config.

    Returns:
        The splits (test is None when no node is in the test mask) and the graph.
    """
    graph = load_graph(config)
    train = NodeBatches(graph, node_batches(graph.train_mask, config.node_batch_size, config.split_seed))
    val = NodeBatches(graph, [graph.val_mask if graph.val_mask.any() else graph.train_mask])
    test = NodeBatches(graph, [graph.test_mask]) if graph.test_mask.any() else None
    return DataSplits(train, val, test), graph
