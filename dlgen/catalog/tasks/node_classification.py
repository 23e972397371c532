"""Node classification: one label per node of a graph."""

from __future__ import annotations

from dlgen.catalog.base import DataFact, Names, Signal, TaskEntry
from dlgen.catalog.tasks import CLASSIFY
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="node_classification",
    names=Names("node classification", "节点分类"),
    signals=(
        Signal(r"节点分类|node[\s-]*classification|图节点|node[\s-]*level", order=10),
        Signal(CLASSIFY, order=903),
    ),
    modalities=(Modality.GRAPH,),
    default_datasets={Modality.GRAPH: "cora"},
    default_family="gnn",
    requires=("num_classes",),
    monitor="accuracy",
    monitor_mode="max",
    metrics=("accuracy", "loss"),
    output_shape=lambda data: (data.input_shape[0], data.num_classes or 1),
    # No input: every node of the checkpoint's graph; a folder of edges.csv + features.csv
    # predicts another graph (docs/data.md).
    inference_examples={
        Modality.GRAPH: ("--output predictions.csv", "--top-k 2 --output predictions.json")
    },
    dataset_tasks=("node_classification",),
    data_facts=(
        # GAT's output layer: "8 output heads" (averaged, as the GAT paper on PubMed).
        DataFact(
            r"(?P<value>\d+)\s*(?:个)?\s*(?:output|输出层?)\s*(?:attention\s*|注意力)?(?:heads?\b|头)",
            "model.output_heads",
            None,
        ),
        DataFact(
            r"(?:output[\s_-]*heads?|输出(?:层)?(?:注意力)?头数?)\s*(?:=|:|of|为|是)?\s*(?P<value>\d+)",
            "model.output_heads",
            None,
        ),
        DataFact(
            r"输出层?\s*(?:有|用|为|是|使用)?\s*(?P<value>\d+)\s*个?\s*(?:注意力)?头",
            "model.output_heads",
            None,
        ),
        # The user's own graph as CSV files (edges.csv + features.csv), in the folder named.
        DataFact(r"(?P<value>[\w.~/-]+)/(?:edges|features)\.csv", "root", None),
        DataFact(
            r"\b(?:edges|features)\.csv\b|\b(?:my|our|own|custom)\b.{0,20}\b(?:graphs?|network)\b|"
            r"自己的图|我的图|自定义图|自己的网络",
            "dataset",
            "custom_graph",
        ),
    ),
    description="one class label per node; (N, F) features -> (N, num_classes) logits",
)
