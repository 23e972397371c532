"""Graph neural networks for node classification: GCN, GAT and GraphSAGE."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class GNNHParams(ArchitectureHParams):
    """Message-passing network hyperparameters (PyTorch Geometric naming).

    ``conv`` picks the layer: GCN (Kipf & Welling), GAT (Velickovic et al.; ``heads``
    attention heads concatenated in hidden layers, one head at the output) or
    GraphSAGE (mean aggregation). ``hidden_dim`` is per head for GAT.
    """

    family: Literal["gnn"] = "gnn"
    conv: Literal["gcn", "gat", "sage"] = "gcn"
    hidden_dim: PositiveInt = 16
    num_layers: PositiveInt = 2
    heads: PositiveInt = 1
    dropout: float = Field(default=0.5, ge=0, lt=1)
    activation: Activation = "relu"

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if dataset.modality != Modality.GRAPH:
            problems.append(
                f"a GNN needs a graph; dataset {dataset.name!r} is {dataset.modality.value} "
                "(pick cora, citeseer, pubmed or karate_club)"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        if self.conv != "gat" and self.heads != 1:
            problems.append(f"heads={self.heads} only applies to conv='gat'; set heads to 1")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        features = dataset.input_shape[-1]
        classes = dataset.num_classes or 2
        total = 0
        for layer in range(self.num_layers):
            last = layer == self.num_layers - 1
            heads = 1 if last else self.heads
            out = classes if last else self.hidden_dim
            total += self._layer_parameters(features, out, heads)
            features = out * heads
        return total

    def _layer_parameters(self, features: int, out: int, heads: int) -> int:
        if self.conv == "gcn":
            return features * out + out
        if self.conv == "gat":
            return features * out * heads + 2 * out * heads + out * heads
        return 2 * features * out + out


FAMILY = ArchitectureFamily(
    key="gnn",
    names=Names(
        en="Graph Neural Network",
        zh="图神经网络",
        aliases=(
            "gnn",
            "graph neural network",
            "graph network",
            "message passing network",
            "图神经网络",
            "图网络",
        ),
    ),
    hparams_model=GNNHParams,
    tasks=("node_classification",),
    variants=(
        Variant(
            key="gcn",
            names=Names(
                en="GCN",
                zh="图卷积网络",
                aliases=(
                    "gcn",
                    "graph convolutional network",
                    "graph convolution",
                    "图卷积网络",
                    "图卷积",
                ),
            ),
            hparams={"conv": "gcn", "hidden_dim": 16, "num_layers": 2, "dropout": 0.5},
            reference_params=23_063,
            reference="Kipf & Welling 2017 on Cora (1,433 features, 7 classes)",
        ),
        Variant(
            key="gat",
            names=Names(
                en="GAT",
                zh="图注意力网络",
                aliases=("gat", "graph attention network", "图注意力网络", "图注意力"),
            ),
            hparams={
                "conv": "gat",
                "hidden_dim": 8,
                "num_layers": 2,
                "heads": 8,
                "dropout": 0.6,
                "activation": "elu",
            },
            reference_params=92_373,
            reference="Velickovic et al. 2018 on Cora (8 heads x 8 hidden, PyG GATConv)",
        ),
        Variant(
            key="sage",
            names=Names(
                en="GraphSAGE", zh="GraphSAGE", aliases=("graphsage", "graph sage", "sage")
            ),
            hparams={"conv": "sage", "hidden_dim": 256, "num_layers": 2, "dropout": 0.5},
            reference="Hamilton et al. 2017 (mean aggregator)",
        ),
    ),
    default_variant="gcn",
    default_datasets={"node_classification": "cora"},
    paper="Kipf & Welling, Semi-Supervised Classification with Graph Convolutional Networks, "
    "ICLR 2017",
    training_defaults={
        "optimizer": "adam",
        "lr": 0.01,
        "weight_decay": 5e-4,
        "scheduler": "none",
        "epochs": 200,
        "batch_size": 1,
        "grad_clip": None,
    },
)
