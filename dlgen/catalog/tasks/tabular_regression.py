"""Tabular regression: numeric targets per row of features."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.catalog.tasks import PREDICT
from dlgen.catalog.tasks.tabular_classification import TARGET_COLUMN_FACTS
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="tabular_regression",
    names=Names("tabular regression", "表格回归"),
    signals=(
        Signal(r"回归|regression|房价预测|price\s*prediction", order=130),
        Signal(PREDICT, order=951, strong=False),
    ),
    modalities=(Modality.TABULAR,),
    default_datasets={Modality.TABULAR: "diabetes"},
    default_family="mlp",
    requires=(),
    monitor="mse",
    monitor_mode="min",
    metrics=("mse", "mae", "r2", "loss"),
    output_shape=lambda data: tuple(data.output_shape or (1,)),
    inference_examples={
        Modality.TABULAR: ("path/to/rows.csv --output predictions.csv", "path/to/tables/")
    },
    data_facts=TARGET_COLUMN_FACTS,
    # Rows live in memory: loader worker processes would only add start-up time.
    training_defaults={"num_workers": 0},
    description="numeric targets per row; (F,) numeric + (K,) categorical -> (T,)",
)
