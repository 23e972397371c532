"""Node classification: the graph, the masked loss and accuracy, and per-node predictions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from .data.config import DataConfig
from .data.datasets import build_datasets, check_graph_sizes, load_graph
from .data.graph import Graph, normalize_rows, planted_partition
from .data.sources import read_csv_graph
from .prediction import InputError, Prediction, Scalar
from .trainers.task_contract import (
    BaseTask,
    Batch,
    DataSplits,
    MetricSums,
    MonitorMode,
    StepOutput,
    class_zero_cross_entropy,
)

# Nodes printed per graph by inference.py (--output writes every node).
PRINTED_NODES = 10
SPLIT_NAMES = ("train", "val", "test")


def graph_of(batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The graph of a collated batch and the union of its node masks.

    Every sample of a batch holds the same graph (one split of one graph), so the first
    sample's tensors stand for all of them.

    Args:
        batch: ``(x (B, N, F), edge_index (B, 2, E), y (B, N), mask (B, N))``.

    Returns:
        ``x (N, F)``, ``edge_index (2, E)``, ``y (N,)`` and ``mask (N,)``.
    """
    x, edge_index, y, mask = batch[0], batch[1], batch[2], batch[3]
    return x[0], edge_index[0], y[0], mask.any(dim=0)


class NodeClassificationTask(BaseTask):
    """Node features and edges to per-node logits; accuracy on the split's nodes selects.

    Training is transductive and full-batch by default (the GCN and GAT papers): the
    model sees the whole graph and the loss reads the training nodes only; validation
    and test read theirs. Metrics are sums over the split's nodes.

    Args:
        cfg: The full config; reads ``data`` (and fills ``data.class_names`` when the
            source names its classes).
    """

    monitor = "accuracy"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)
        self._graph: Graph | None = None

    def build_datasets(self) -> DataSplits:
        """Load the graph of ``data.source`` and wrap its splits.

        Returns:
            Train (one sample per node batch), validation and test (one sample each).
        """
        splits, graph = build_datasets(self.data)
        self._remember(graph)
        return splits

    def _remember(self, graph: Graph) -> None:
        self._graph = graph
        if graph.class_names is not None and self.data.class_names is None:
            OmegaConf.update(self.cfg, "data.class_names", list(graph.class_names), merge=False)
            self.data = DataConfig.from_mapping(self.cfg.data)

    def graph(self) -> Graph:
        """The configured graph, loaded on first use.

        Returns:
            The graph of ``data.source``.
        """
        if self._graph is None:
            self._remember(load_graph(self.data))
        assert self._graph is not None
        return self._graph

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Cross-entropy over the batch's training nodes.

        Args:
            model: Maps ``(N, F), (2, E)`` to ``(N, C)`` logits.
            batch: A collated batch of node batches of one graph, on the model's device.

        Returns:
            The loss and the training nodes' accuracy.
        """
        x, edge_index, y, mask = graph_of(batch)
        logits = model(x, edge_index)[mask].float()  # (M, C)
        labels = y[mask]
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(-1) == labels).float().mean()
        return StepOutput(loss, {"accuracy": accuracy.detach()})

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss and correct predictions over the split's nodes.

        Args:
            model: The model in eval mode.
            batch: The split's sample, on the model's device.

        Returns:
            ``loss`` and ``accuracy`` sums and ``count`` (nodes of the split).
        """
        x, edge_index, y, mask = graph_of(batch)
        logits = model(x, edge_index)[mask].float()
        labels = y[mask]
        return {
            "loss": F.cross_entropy(logits, labels, reduction="sum"),
            "accuracy": (logits.argmax(-1) == labels).float().sum(),
            "count": torch.tensor(float(labels.numel()), device=logits.device),
        }

    def example_batch(self, batch_size: int) -> Batch:
        """A planted-partition graph of the configured sizes, its nodes in ``B`` batches.

        Args:
            batch_size: B, the node batches (sample ``b`` holds every ``B``-th node).

        Returns:
            ``(x (B, N, F), edge_index (B, 2, E), y (B, N), mask (B, N))`` on the CPU.
        """
        # Clearer communities than the synthetic source's default: one batch can be fitted.
        graph = planted_partition(
            replace(self.data, synthetic_homophily=0.9, synthetic_feature_signal=0.5)
        )
        if self.data.normalize_features:
            graph.x = normalize_rows(graph.x)
        nodes = graph.num_nodes
        masks = torch.zeros(batch_size, nodes, dtype=torch.bool)
        for b in range(batch_size):
            masks[b, b::batch_size] = True
        masks[:, 0] |= ~masks.any(dim=1)  # more batches than nodes: none is empty
        return (
            graph.x.expand(batch_size, -1, -1),
            graph.edge_index.expand(batch_size, -1, -1),
            graph.y.expand(batch_size, -1),
            masks,
        )

    def model_inputs(self, batch: Batch) -> tuple[Tensor, ...]:
        """The model's inputs: the batch's graph.

        Args:
            batch: A collated batch.

        Returns:
            ``(x (N, F), edge_index (2, E))``.
        """
        x, edge_index, _, _ = graph_of(batch)
        return x, edge_index

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Logits of every node of the example graph (one graph, whatever ``B``).

        Args:
            batch_size: B (node batches; the graph and its output stay the same).

        Returns:
            ``(N, C)``.
        """
        del batch_size
        return (self.data.num_nodes, self.data.num_classes)

    def smoke_loss(self, output: Tensor) -> Tensor:
        """Cross-entropy of every node against class 0.

        Args:
            output: ``(N, C)`` logits.

        Returns:
            A scalar loss.
        """
        return class_zero_cross_entropy(output)

    # Inference ----------------------------------------------------------------------

    def graphs(self, inputs: Sequence[str]) -> list[tuple[str, Graph]]:
        """The graphs :meth:`predictions` reads.

        Args:
            inputs: Folders holding the CSV files (or one of the files); none: the
                configured graph.

        Returns:
            ``(name, graph)`` pairs.

        Raises:
            InputError: If an input is missing or its files do not fit the model.
        """
        if not inputs:
            return [(self.data.name, self.graph())]
        graphs = []
        for item in inputs:
            path = Path(item)
            folder = path if path.is_dir() else path.parent
            if not path.exists():
                raise InputError(f"{item}: no such file or folder")
            try:
                graph = read_csv_graph(folder, self.data, labels_required=False)
                if self.data.normalize_features:
                    graph.x = normalize_rows(graph.x)
                check_graph_sizes(graph, self.data, require_training=False)
            except (FileNotFoundError, ValueError) as exc:
                raise InputError(f"{item}: {exc}") from exc
            graphs.append((str(folder), graph))
        return graphs

    @torch.no_grad()
    def _forward(self, model: nn.Module, graph: Graph, hidden: bool = False) -> Tensor:
        device = next(model.parameters()).device
        x, edge_index = graph.x.to(device), graph.edge_index.to(device)
        if hidden:
            embeddings = cast(Callable[[Tensor, Tensor], Tensor], model.embeddings)
            return embeddings(x, edge_index).float().cpu()
        return model(x, edge_index).float().cpu()

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """The class of every node, with its probability.

        Args:
            model: The trained model in eval mode.
            inputs: Folders holding ``edges.csv`` and ``features.csv`` (or one of those
                files); empty: the configured graph (the one the model trained on).
            top_k: Classes listed per node (default 1).

        Returns:
            One prediction per graph; one record per node: node, predicted class,
            probability (and the next classes with ``top_k``), label and split.

        Raises:
            InputError: If a folder lacks the files or they do not fit the model.
        """
        k = min(top_k or 1, self.data.num_classes)
        graphs = self.graphs(inputs)
        return [self._prediction(name, g, self._forward(model, g), k) for name, g in graphs]

    def _class_name(self, label: int) -> str:
        names = self.data.class_names
        return names[label] if names is not None and 0 <= label < len(names) else str(label)

    def _prediction(self, name: str, graph: Graph, logits: Tensor, k: int) -> Prediction:
        probabilities = logits.softmax(dim=-1)
        top = probabilities.topk(k, dim=-1)
        masks = (graph.train_mask, graph.val_mask, graph.test_mask)
        records: list[dict[str, Scalar]] = []
        lines = []
        for node in range(graph.num_nodes):
            record: dict[str, Scalar] = {"graph": name, "node": graph.node_name(node)}
            for rank in range(k):
                suffix = "" if rank == 0 else f"_{rank + 1}"
                record[f"predicted{suffix}"] = self._class_name(int(top.indices[node, rank]))
                record[f"probability{suffix}"] = round(float(top.values[node, rank]), 6)
            label = int(graph.y[node])
            record["label"] = self._class_name(label) if label >= 0 else None
            splits = [split for split, mask in zip(SPLIT_NAMES, masks, strict=True) if mask[node]]
            record["split"] = splits[0] if splits else None
            records.append(record)
            if node < PRINTED_NODES:
                lines.append(
                    f"  node {record['node']}: {record['predicted']} "
                    f"({100 * float(top.values[node, 0]):.1f}%)"
                )
        predicted = logits.argmax(dim=-1)
        summary = f"{name}: {graph.num_nodes} nodes"
        if bool(graph.test_mask.any()):
            correct = (predicted[graph.test_mask] == graph.y[graph.test_mask]).float().mean()
            summary += f", test accuracy {float(correct):.4f} ({int(graph.test_mask.sum())} nodes)"
        if graph.num_nodes > PRINTED_NODES:
            lines.append(f"  ... {graph.num_nodes - PRINTED_NODES} more (--output writes every node)")
        return Prediction(name, "\n".join([summary, *lines]), records)

    @torch.no_grad()
    def embeddings(self, model: nn.Module, inputs: Sequence[str]) -> np.ndarray:
        """The last hidden layer of every node (the features the output layer classifies).

        Args:
            model: The trained model in eval mode (with an ``embeddings`` method).
            inputs: As for :meth:`predictions`.

        Returns:
            ``(N, D)`` float32, the rows in the order of :meth:`predictions`' records
            (the graphs' nodes one after the other).
        """
        parts = [self._forward(model, graph, hidden=True) for _, graph in self.graphs(inputs)]
        return torch.cat(parts).numpy()

    def save_embeddings(self, model: nn.Module, inputs: Sequence[str], path: Path) -> int:
        """Write :meth:`embeddings` to a ``.npy`` file.

        Args:
            model: The trained model in eval mode.
            inputs: As for :meth:`predictions`.
            path: The ``.npy`` file.

        Returns:
            The number of rows written.

        Raises:
            InputError: If the file name does not end in ``.npy`` or its folder is missing.
        """
        if path.suffix.lower() != ".npy":
            raise InputError(f"--embeddings {path}: the file name must end in .npy")
        if not path.parent.is_dir():
            raise InputError(f"--embeddings {path}: the folder {path.parent} does not exist")
        values = self.embeddings(model, inputs)
        np.save(path, values)
        return int(values.shape[0])


def build_task(cfg: DictConfig) -> NodeClassificationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return NodeClassificationTask(cfg)
