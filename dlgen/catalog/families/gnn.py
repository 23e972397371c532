"""Graph neural networks for node classification: GCN, GAT and GraphSAGE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Recipe, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class GNNHParams(ArchitectureHParams):
    """Message-passing network hyperparameters (PyTorch Geometric naming).

    ``conv`` picks the layer: GCN (Kipf & Welling), GAT (Velickovic et al.; ``heads``
    attention heads concatenated in hidden layers, ``output_heads`` averaged at the
    output: 1 on Cora, 8 on PubMed) or GraphSAGE (mean aggregation, root weight;
    ``num_neighbors`` samples that many neighbours per node and layer in training).
    ``hidden_dim`` is per head for GAT. ``decay_first_layer_only`` is the GCN paper's
    weight decay on the first layer alone.
    """

    family: Literal["gnn"] = "gnn"
    conv: Literal["gcn", "gat", "sage"] = "gcn"
    hidden_dim: PositiveInt = 16
    num_layers: PositiveInt = 2
    heads: PositiveInt = 1
    output_heads: PositiveInt = 1
    dropout: float = Field(default=0.5, ge=0, lt=1)
    activation: Activation = "relu"
    num_neighbors: PositiveInt | None = None
    decay_first_layer_only: bool = False

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if dataset.modality != Modality.GRAPH:
            problems.append(
                f"a GNN needs a graph; dataset {dataset.name!r} is {dataset.modality.value} "
                "(pick cora, citeseer, pubmed or karate_club)"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        for name in ("heads", "output_heads"):
            value = getattr(self, name)
            if self.conv != "gat" and value != 1:
                problems.append(f"{name}={value} only applies to conv='gat'; set {name} to 1")
        if self.num_neighbors is not None and self.conv != "sage":
            problems.append(
                f"num_neighbors={self.num_neighbors} (neighbour sampling) only applies to "
                "conv='sage'; set it to null"
            )
        if len(dataset.input_shape) != 2:
            problems.append(
                f"a graph dataset has input_shape (nodes, features), got {dataset.input_shape}"
            )
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        """Parameters of the network, as PyG's ``GCNConv``/``GATConv``/``SAGEConv`` count them."""
        features = dataset.input_shape[-1]
        classes = dataset.num_classes or 2
        total = 0
        for layer in range(self.num_layers):
            last = layer == self.num_layers - 1
            out = classes if last else self.hidden_dim
            total += self._layer_parameters(features, out, last)
            features = out * (self.heads if self.conv == "gat" and not last else 1)
        return total

    def _layer_parameters(self, features: int, out: int, last: bool) -> int:
        if self.conv == "gcn":  # lin (no bias) + bias
            return features * out + out
        if self.conv == "gat":  # lin + att_src + att_dst + bias (concatenated or averaged)
            heads = self.output_heads if last else self.heads
            return features * out * heads + 2 * out * heads + (out if last else out * heads)
        return 2 * features * out + out  # lin_l (bias) + lin_r


def _is(conv: str, dataset: str | None = None) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    """A recipe condition: the Spec's ``conv`` (and dataset) are these."""

    def applies(model: dict[str, Any], data: dict[str, Any]) -> bool:
        return model.get("conv") == conv and (dataset is None or data.get("name") == dataset)

    return applies


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
            reference_params=737_543,
            reference="Hamilton et al. 2017 (mean aggregator, PyG SAGEConv) on Cora",
        ),
    ),
    default_variant="gcn",
    default_datasets={"node_classification": "cora"},
    paper="Kipf & Welling, Semi-Supervised Classification with Graph Convolutional Networks, "
    "ICLR 2017",
    # Full-batch training on one graph: one sample (every training node) per step.
    training_defaults={
        "optimizer": "adam",
        "lr": 0.01,
        "weight_decay": 5e-4,
        "scheduler": "none",
        "warmup_epochs": 0,
        "epochs": 200,
        "batch_size": 1,
        "grad_clip": None,
        "num_workers": 0,
    },
    recipes=(
        Recipe(
            "GAT PubMed",
            "Velickovic et al., Graph Attention Networks, ICLR 2018, section 3.3 (PubMed: "
            "8 output heads averaged, lr 0.01, L2 0.001, patience 100)",
            {"lr": 0.01, "weight_decay": 1e-3, "epochs": 1000, "early_stopping_patience": 100},
            model={"output_heads": 8, "dropout": 0.6, "activation": "elu"},
            applies=_is("gat", "pubmed"),
        ),
        Recipe(
            "GAT",
            "Velickovic et al., Graph Attention Networks, ICLR 2018, section 3.3 (Adam lr "
            "0.005, L2 5e-4, dropout 0.6, ELU, patience 100)",
            {"lr": 0.005, "weight_decay": 5e-4, "epochs": 1000, "early_stopping_patience": 100},
            model={"dropout": 0.6, "activation": "elu"},
            applies=_is("gat"),
        ),
        Recipe(
            "GCN",
            "Kipf & Welling, Semi-Supervised Classification with Graph Convolutional "
            "Networks, ICLR 2017, section 5.3 (Adam lr 0.01, L2 5e-4 on the first layer, "
            "dropout 0.5, 200 epochs)",
            {"lr": 0.01, "weight_decay": 5e-4, "epochs": 200},
            model={"dropout": 0.5, "decay_first_layer_only": True},
            applies=_is("gcn"),
        ),
    ),
)
