"""Graph neural networks for node classification: GCN, GAT and GraphSAGE in plain PyTorch.

A stack of ``num_layers`` message-passing layers maps node features ``(N, F)`` and an edge
list ``(2, E)`` to per-node logits ``(N, num_classes)``; dropout precedes every layer and
the activation follows every layer but the last (PyG's examples, the papers' models):

- ``conv="gcn"``: Kipf & Welling 2017, ``layers/gcn_conv.py``. Two layers of 16 on Cora
  have 23,063 parameters, as PyG's ``GCNConv``. The paper decays the first layer only
  (``decay_first_layer_only``, read by the optimizer through :meth:`GNN.no_weight_decay`).
- ``conv="gat"``: Velickovic et al. 2018, ``layers/gat_conv.py``. Hidden layers
  concatenate ``heads`` heads of ``hidden_dim``; the output layer averages
  ``output_heads`` heads (1 on Cora: 92,373 parameters, as PyG's ``GATConv``; 8 on PubMed).
  ``dropout`` also drops attention weights. The paper uses ELU.
- ``conv="sage"``: Hamilton et al. 2017, ``layers/sage_conv.py``, mean aggregator with
  root weight. With ``num_neighbors`` set, every layer aggregates over at most that many
  uniformly sampled neighbours per node while training (all of them in evaluation).

Every layer's parameters carry PyG's names under ``convs.<i>.``, so a PyG model's state
dict loads with ``convs.<i>`` for its ``conv<i+1>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.activations import get_activation
from ..layers.gat_conv import GATConv
from ..layers.gcn_conv import GCNConv
from ..layers.graph_ops import check_graph
from ..layers.sage_conv import SAGEConv, sample_neighbors
from .registry import register_model

CONVS = ("gcn", "gat", "sage")


@dataclass
class GNNConfig:
    """Hyperparameters of a message-passing network (field names as in the project config).

    Attributes:
        in_features: Features per node ``F``.
        num_classes: Classes ``C``: logits per node.
        conv: Layer type: ``gcn``, ``gat`` or ``sage``.
        hidden_dim: Width of every hidden layer (per head for GAT).
        num_layers: Message-passing layers; the last maps to the classes.
        heads: Attention heads of the hidden GAT layers, concatenated (1 otherwise).
        output_heads: Attention heads of the output GAT layer, averaged (1 otherwise).
        dropout: Dropout on the input of every layer (and on GAT's attention weights).
        activation: Activation after every hidden layer (ReLU for GCN, ELU for GAT).
        num_neighbors: GraphSAGE's neighbourhood sample: at most this many neighbours per
            node and layer while training; None aggregates over every neighbour.
        decay_first_layer_only: Weight decay on the first layer only (Kipf & Welling); the
            other layers' names are returned by :meth:`GNN.no_weight_decay`.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_features: int = 1433
    num_classes: int = 7
    conv: str = "gcn"
    hidden_dim: int = 16
    num_layers: int = 2
    heads: int = 1
    output_heads: int = 1
    dropout: float = 0.5
    activation: str = "relu"
    num_neighbors: int | None = None
    decay_first_layer_only: bool = False
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        sizes = ("in_features", "num_classes", "hidden_dim", "num_layers", "heads")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in (*sizes, "output_heads")
            if getattr(self, name) < 1
        ]
        if self.conv not in CONVS:
            problems.append(f"conv must be one of {CONVS}, got {self.conv!r}")
        if self.conv != "gat" and (self.heads != 1 or self.output_heads != 1):
            problems.append(
                f"heads={self.heads} and output_heads={self.output_heads} apply to conv='gat' "
                "only; set them to 1"
            )
        if self.num_neighbors is not None and (self.conv != "sage" or self.num_neighbors < 1):
            problems.append(
                f"num_neighbors={self.num_neighbors} needs conv='sage' and a value >= 1 "
                "(null: every neighbour)"
            )
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if problems:
            raise ValueError("invalid GNN config: " + "; ".join(problems))


def build_conv(config: GNNConfig, in_width: int, out_features: int, last: bool) -> nn.Module:
    """One message-passing layer of the configured type.

    Args:
        config: The network's hyperparameters.
        in_width: Input features per node.
        out_features: Output features per node (per head for a concatenating GAT layer).
        last: Whether it is the output layer (GAT: averaged ``output_heads``).

    Returns:
        The layer.
    """
    if config.conv == "gcn":
        return GCNConv(in_width, out_features)
    if config.conv == "gat":
        heads = config.output_heads if last else config.heads
        return GATConv(in_width, out_features, heads, concat=not last, dropout=config.dropout)
    return SAGEConv(in_width, out_features)


class GNN(nn.Module):
    """Message-passing layers from node features to per-node logits.

    Shapes: ``(N, F), (2, E) -> (N, C)``. Cost per layer ``O(N F_in F_out + E F_out)``
    (GAT: times the heads).

    Args:
        config: The hyperparameters.
    """

    def __init__(self, config: GNNConfig) -> None:
        super().__init__()
        self.config = config
        self.convs = nn.ModuleList()
        width = config.in_features
        for layer in range(config.num_layers):
            last = layer == config.num_layers - 1
            out = config.num_classes if last else config.hidden_dim
            self.convs.append(build_conv(config, width, out, last))
            width = out * (config.heads if config.conv == "gat" and not last else 1)
        heads = config.heads if config.conv == "gat" else 1
        # Features per node of embeddings(): the input's for a one-layer network.
        self.hidden_width = config.in_features if config.num_layers == 1 else config.hidden_dim * heads
        self.act = get_activation(config.activation)

    def _edges(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        """The edges one layer aggregates over: a neighbour sample while training."""
        k = self.config.num_neighbors
        if k is None or not self.training:
            return edge_index
        return sample_neighbors(edge_index, num_nodes, k)

    def embeddings(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The last hidden layer's features: what the output layer classifies.

        Args:
            x: Node features ``(N, F)``.
            edge_index: Edges ``(2, E)``, source first.

        Returns:
            ``(N, D)`` features, ``D = hidden_dim`` (times ``heads`` for GAT); the input
            features themselves for a one-layer network.
        """
        check_graph(x, edge_index, self.config.in_features, check_bounds=True)
        h = x
        for conv in self.convs[:-1]:
            h = F.dropout(h, self.config.dropout, self.training)
            h = self.act(conv(h, self._edges(edge_index, x.shape[0])))
        return h

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Classify every node.

        Args:
            x: Node features ``(N, F)``.
            edge_index: Edges ``(2, E)``, source first (an undirected graph lists both
                directions).

        Returns:
            ``(N, C)`` logits.
        """
        h = self.embeddings(x, edge_index)
        h = F.dropout(h, self.config.dropout, self.training)
        return self.convs[-1](h, self._edges(edge_index, x.shape[0]))

    def no_weight_decay(self) -> set[str]:
        """Parameters the optimizer does not decay: all but the first layer's, as Kipf & Welling.

        Returns:
            Parameter names; empty unless ``decay_first_layer_only``.
        """
        if not self.config.decay_first_layer_only:
            return set()
        return {name for name, _ in self.named_parameters() if not name.startswith("convs.0.")}


@register_model("gnn")
def build_gnn(cfg: dict[str, Any]) -> nn.Module:
    """Build a GNN from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`GNNConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`GNNConfig` field.
        ValueError: If a value is invalid (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return GNN(GNNConfig(**fields))
