"""The GNN template: GCN, GAT and GraphSAGE equal to PyTorch Geometric's layers.

The model file and its layers come from a rendered project, exactly what a user gets.
PyG (``torch_geometric``, a test-only dependency: its ``GCNConv``, ``GATConv`` and
``SAGEConv`` are pure Python) provides the references: parameter counts at the papers'
Cora configurations, and the outputs of the same weights on random graphs.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from dlgen import catalog
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.render import render

pyg_nn = pytest.importorskip("torch_geometric.nn")

CORA_FEATURES, CORA_CLASSES = 1433, 7
# PyG's counts at the papers' Cora configurations (pinned from the brief).
GCN_CORA = 23_063  # 2 layers x 16 hidden
GAT_CORA = 92_373  # 8 heads x 8 hidden + 1 output head
ATOL = 1e-5


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A rendered GNN project's package, importable."""
    root = tmp_path_factory.mktemp("rendered_gnn")
    spec = analyze_choice("gnn", "node_classification", "cora").model_copy(
        update={"name": f"rendered_gnn_{uuid.uuid4().hex[:8]}"}
    )
    prefix = f"src/{spec.name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return spec.name


@pytest.fixture(scope="module")
def gnn(package: str) -> ModuleType:
    return importlib.import_module(f"{package}.models.gnn")


def _layer(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.layers.{name}")


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(gnn: ModuleType, **fields: Any) -> nn.Module:
    model: nn.Module = gnn.build_gnn({"name": "gnn", **fields})
    return model


def _graph(nodes: int = 40, edges: int = 160, features: int = 12) -> tuple[torch.Tensor, ...]:
    """A random directed graph with repeated edges and a few self-loops."""
    generator = torch.Generator().manual_seed(0)
    edge_index = torch.randint(0, nodes, (2, edges), generator=generator)
    edge_index[:, :3] = torch.tensor([[1, 2, 3], [1, 2, 3]])  # self-loops
    edge_index[:, 3] = edge_index[:, 4]  # a repeated edge
    return torch.randn(nodes, features, generator=generator), edge_index


# Counts ---------------------------------------------------------------------------------


class _PyGNet(nn.Module):
    """PyG's two-layer example networks (gcn.py / gat.py), for their parameter counts."""

    def __init__(self, conv1: nn.Module, conv2: nn.Module) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2


def test_gcn_and_gat_counts_equal_pyg_at_the_papers_cora_configs(gnn: ModuleType) -> None:
    gcn = _build(gnn, in_features=CORA_FEATURES, num_classes=CORA_CLASSES, conv="gcn")
    gat = _build(
        gnn, in_features=CORA_FEATURES, num_classes=CORA_CLASSES, conv="gat", hidden_dim=8,
        heads=8, dropout=0.6, activation="elu",
    )  # fmt: skip
    reference_gcn = _PyGNet(pyg_nn.GCNConv(CORA_FEATURES, 16), pyg_nn.GCNConv(16, CORA_CLASSES))
    reference_gat = _PyGNet(
        pyg_nn.GATConv(CORA_FEATURES, 8, heads=8),
        pyg_nn.GATConv(64, CORA_CLASSES, heads=1, concat=False),
    )
    assert _count(gcn) == _count(reference_gcn) == GCN_CORA
    assert _count(gat) == _count(reference_gat) == GAT_CORA


@pytest.mark.parametrize(
    "fields",
    [
        {"conv": "gcn", "num_layers": 3},
        {"conv": "gat", "hidden_dim": 8, "heads": 8, "output_heads": 8},
        {"conv": "sage", "hidden_dim": 256},
    ],
    ids=["gcn3", "gat_out8", "sage"],
)
def test_catalog_estimates_equal_the_built_model_and_pyg(
    gnn: ModuleType, fields: dict[str, Any]
) -> None:
    """``GNNHParams.estimate_parameters`` counts what our model and PyG's layers hold."""
    family = catalog.family("gnn")
    for dataset in ("cora", "citeseer", "pubmed"):
        data = analyze_choice("gnn", "node_classification", dataset).dataset
        features, classes = data.input_shape[1], data.num_classes or 2
        hparams = family.hparams_model(**{"family": "gnn", **fields})
        model = _build(gnn, in_features=features, num_classes=classes, **fields)
        reference = _pyg_stack(model)
        expected = hparams.estimate_parameters(data)
        assert _count(model) == _count(reference) == expected, dataset


def _pyg_stack(model: nn.Module) -> nn.Module:
    """The PyG layers matching our model's layers, built from their sizes."""
    layers = nn.ModuleList()
    for conv in model.convs:  # type: ignore[union-attr]
        name = type(conv).__name__
        if name == "GCNConv":
            layers.append(pyg_nn.GCNConv(conv.in_features, conv.out_features))
        elif name == "GATConv":
            layers.append(
                pyg_nn.GATConv(conv.in_features, conv.out_features, conv.heads, concat=conv.concat)
            )
        else:
            layers.append(pyg_nn.SAGEConv(conv.in_features, conv.out_features))
    return layers


def test_every_variant_counts_its_reference(gnn: ModuleType) -> None:
    """Each catalog variant with a reference count builds that many parameters on Cora."""
    family = catalog.family("gnn")
    for variant in family.variants:
        if variant.reference_params is None:
            continue
        model = _build(gnn, in_features=CORA_FEATURES, num_classes=CORA_CLASSES, **variant.hparams)
        assert _count(model) == variant.reference_params, variant.key


# Same weights, same outputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    [
        ("GCNConv", "GCNConv", {}),
        ("GATConv", "GATConv", {"heads": 3}),
        ("GATConv", "GATConv", {"heads": 3, "concat": False}),
        ("SAGEConv", "SAGEConv", {}),
    ],
    ids=["gcn", "gat_concat", "gat_mean", "sage"],
)
def test_layer_equals_pyg_with_the_same_weights(
    package: str, ours: str, theirs: str, kwargs: dict[str, Any]
) -> None:
    """Load PyG's state dict into our layer: the outputs agree on a random graph (eval)."""
    files = {"GCNConv": "gcn_conv", "GATConv": "gat_conv", "SAGEConv": "sage_conv"}
    x, edge_index = _graph()
    torch.manual_seed(0)
    reference = getattr(pyg_nn, theirs)(12, 5, **kwargs).eval()
    layer = getattr(_layer(package, files[ours]), ours)(12, 5, **kwargs).eval()
    layer.load_state_dict(reference.state_dict())  # same names, same shapes
    with torch.no_grad():
        difference = (layer(x, edge_index) - reference(x, edge_index)).abs().max()
    assert difference < ATOL, f"{ours}: max abs difference {difference:.2e}"


@pytest.mark.parametrize("conv", ["gcn", "gat", "sage"])
def test_whole_network_equals_pyg_layers_stacked(gnn: ModuleType, conv: str) -> None:
    """Our 2-layer network equals PyG's example network (dropout, activation) in eval mode."""
    x, edge_index = _graph()
    fields: dict[str, Any] = {"conv": conv, "hidden_dim": 6, "activation": "elu"}
    if conv == "gat":
        fields.update(heads=4, output_heads=2)
    model = _build(gnn, in_features=12, num_classes=3, **fields).eval()
    first, second = model.convs  # type: ignore[misc]
    if conv == "gat":
        conv1 = pyg_nn.GATConv(12, 6, heads=4)
        conv2 = pyg_nn.GATConv(24, 3, heads=2, concat=False)
    else:
        cls = pyg_nn.GCNConv if conv == "gcn" else pyg_nn.SAGEConv
        conv1, conv2 = cls(12, 6), cls(6, 3)
    first.load_state_dict(conv1.state_dict())
    second.load_state_dict(conv2.state_dict())
    with torch.no_grad():
        expected = conv2(torch.nn.functional.elu(conv1(x, edge_index)), edge_index)
        difference = (model(x, edge_index) - expected).abs().max()
    assert difference < ATOL


def test_gat_attention_weights_sum_to_one_per_target(package: str) -> None:
    """The scatter softmax: the weights into every node sum to 1 (self-loop included)."""
    graph_ops = _layer(package, "graph_ops")
    _, edge_index = _graph()
    scores = torch.randn(edge_index.shape[1], 3)
    alpha = graph_ops.scatter_softmax(scores, edge_index[1], 40)
    totals = graph_ops.scatter_sum(alpha, edge_index[1], 40)
    has_edges = torch.bincount(edge_index[1], minlength=40) > 0
    assert torch.allclose(totals[has_edges], torch.ones(int(has_edges.sum()), 3), atol=1e-6)


def test_gcn_adjacency_is_built_once_for_a_fixed_graph(
    package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full-batch training moves an equal edge list each step: the adjacency is cached."""
    gcn_conv = _layer(package, "gcn_conv")
    calls = []
    original = gcn_conv.gcn_adjacency

    def counted(edge_index: torch.Tensor, nodes: int) -> torch.Tensor:
        calls.append(nodes)
        result: torch.Tensor = original(edge_index, nodes)
        return result

    monkeypatch.setattr(gcn_conv, "gcn_adjacency", counted)
    layer = gcn_conv.GCNConv(12, 4)
    x, edge_index = _graph()
    for _ in range(3):
        layer(x, edge_index.clone())
    layer(x[:30], edge_index[:, edge_index.max(0).values < 30])
    assert calls == [40, 30]


def test_state_dict_names_follow_pyg(gnn: ModuleType) -> None:
    """``convs.<i>.`` + PyG's parameter names: a PyG network's weights map one to one."""
    model = _build(gnn, in_features=12, num_classes=3, conv="gat", hidden_dim=4, heads=2)
    names = set(model.state_dict())
    assert {"convs.0.lin.weight", "convs.0.att_src", "convs.0.att_dst", "convs.0.bias"} <= names
    reference = pyg_nn.GATConv(12, 4, heads=2)
    assert {f"convs.0.{key}" for key in reference.state_dict()} <= names


def test_module_is_the_rendered_file(gnn: ModuleType) -> None:
    """The model module is imported from the rendered project, not from dlgen's templates."""
    path = str(gnn.__file__)
    assert Path(path).name == "gnn.py" and "templates" not in path


@pytest.mark.parametrize("conv", ["gcn", "gat", "sage"])
def test_network_exports_with_torch_export(gnn: ModuleType, conv: str) -> None:
    """``torch.export`` traces every network (GCN sums by scatter: no sparse kernel there)."""
    x, edge_index = _graph()
    fields: dict[str, Any] = {"conv": conv, "hidden_dim": 6}
    if conv == "gat":
        fields.update(heads=2)
    model = _build(gnn, in_features=12, num_classes=3, **fields).eval()
    program = torch.export.export(model, (x, edge_index))
    with torch.no_grad():
        difference = (program.module()(x, edge_index) - model(x, edge_index)).abs().max()
    assert difference < ATOL
