"""Tabular classification: one label per row of features."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.catalog.tasks import CLASSIFY
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="tabular_classification",
    names=Names("tabular classification", "表格分类"),
    signals=(
        Signal(r"表格分类|tabular\s*classification", order=50),
        Signal(CLASSIFY, order=902),
    ),
    modalities=(Modality.TABULAR,),
    default_datasets={Modality.TABULAR: "iris"},
    default_family="mlp",
    requires=("num_classes",),
    monitor="accuracy",
    monitor_mode="max",
    metrics=("accuracy", "loss"),
    output_shape=lambda data: (data.num_classes or 1,),
    description="one class label per row; (F,) -> (num_classes,) logits",
)
