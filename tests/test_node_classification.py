"""Node classification: the analyzer's facts for its requests, the rendered data configs and
dependencies per source, and a generated GCN learning the offline planted-partition graph.

The layers' faithfulness to PyTorch Geometric is tested in ``tests/test_gnn_model.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from dlgen import analyze
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.render import check_contract
from tests.test_generated_project import assert_ok, run_in, write_project


@pytest.mark.parametrize(
    ("request_text", "model", "data"),
    [
        (
            "用三层GCN在CiteSeer上做节点分类",
            {"conv": "gcn", "num_layers": 3, "decay_first_layer_only": True},
            {"name": "citeseer", "source": "planetoid", "num_classes": 6},
        ),
        (
            "GAT on PubMed with 8 heads in the first layer and 8 output heads",
            {"conv": "gat", "heads": 8, "output_heads": 8, "activation": "elu"},
            {"name": "pubmed", "source": "planetoid", "num_classes": 3},
        ),
        (
            "GraphSAGE node classification on my own graph given as edges.csv and features.csv",
            {"conv": "sage", "num_neighbors": None},
            {"name": "custom_graph", "source": "csv", "root": "data"},
        ),
    ],
)
def test_node_classification_requests_keep_their_facts(
    request_text: str, model: dict[str, object], data: dict[str, object]
) -> None:
    spec = analyze(request_text)
    assert spec.task == "node_classification" and spec.model.family == "gnn"
    fields = spec.to_dict()
    assert {key: fields["model"][key] for key in model} == model
    assert {key: fields["dataset"][key] for key in data} == data


def test_recipes_follow_the_papers() -> None:
    """GCN: Adam 0.01, L2 5e-4 on the first layer; GAT: 0.005; GAT on PubMed: 0.01, 1e-3."""
    gcn = analyze("GCN on Cora")
    assert (gcn.training.optimizer, gcn.training.lr, gcn.training.weight_decay) == (
        "adam", 0.01, 5e-4,
    )  # fmt: skip
    assert gcn.training.epochs == 200 and gcn.training.batch_size == 1
    model = gcn.to_dict()["model"]
    assert model["decay_first_layer_only"] and model["dropout"] == 0.5
    gat = analyze("GAT on Cora")
    assert (gat.training.lr, gat.training.weight_decay) == (0.005, 5e-4)
    assert gat.training.early_stopping_patience == 100
    model = gat.to_dict()["model"]
    assert (model["dropout"], model["activation"]) == (0.6, "elu")
    pubmed = analyze("GAT on PubMed")
    assert (pubmed.training.lr, pubmed.training.weight_decay) == (0.01, 1e-3)
    assert pubmed.to_dict()["model"]["output_heads"] == 8


def _requirements(files: dict[str, str]) -> str:
    return files["requirements.txt"]


@pytest.mark.parametrize(
    ("dataset", "source", "extra", "absent"),
    [
        ("cora", "planetoid", "scipy", "networkx"),
        ("karate_club", "networkx", "networkx", "scipy"),
        ("custom_graph", "csv", None, "networkx"),
    ],
)
def test_each_source_renders_its_config_and_only_its_dependencies(
    dataset: str, source: str, extra: str | None, absent: str
) -> None:
    files = check_contract(analyze_choice("gnn", "node_classification", dataset))
    data = yaml.safe_load(files[f"configs/data/{dataset}.yaml"])
    assert data["source"] == source
    assert data["split"] == ("public" if source == "planetoid" else "random")
    debug = yaml.safe_load(files["configs/data/debug.yaml"])
    assert debug["source"] == "synthetic" and debug["node_batch_size"] == 2
    requirements = _requirements(files)
    if extra is not None:
        assert extra in requirements
    assert absent not in requirements
    assert "torch_geometric" not in requirements and "torch-geometric" not in requirements
    assert "embed.py" in files and "docs/data.md" in files


@pytest.mark.slow
def test_generated_gcn_learns_the_planted_partition_graph(tmp_path: Path) -> None:
    """The GCN recipe on an offline planted-partition graph reaches >= 0.90 test accuracy.

    800 nodes in 7 communities, 64 bag-of-words features (few from the community topic:
    single nodes are ambiguous), 150 full-batch epochs on a CPU; the test accuracy is
    that of the best validation epoch (``best.pt``).
    """
    spec = analyze_choice("gnn", "node_classification", "cora")
    root = write_project(spec, tmp_path)
    overrides = [
        "data.source=synthetic",
        "data.split=random",
        "data.num_nodes=800",
        "data.num_features=64",
        "training.epochs=150",
        "training.progress_bar=false",
        "training.tensorboard=false",
        "training.log_every_steps=50",
        "training.keep_last_checkpoints=1",
        "training.checkpoint_every=1000",
        f"output_dir={tmp_path / 'outputs'}",
    ]
    started = time.perf_counter()
    result = run_in(root, [sys.executable, "train.py", *overrides], timeout=600)
    elapsed = time.perf_counter() - started
    assert_ok(result)
    (metrics_file,) = (tmp_path / "outputs").glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    accuracy = metrics["test"]["accuracy"]
    print(f"GCN planted partition: test accuracy {accuracy:.3f} in {elapsed:.0f} s")
    assert metrics["test_weights"] == "best.pt"
    assert metrics["test"]["accuracy"] >= 0.90, metrics["test"]
