"""Node classification: one label per node of a graph."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
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
    description="one class label per node; (N, F) features -> (N, num_classes) logits",
)
