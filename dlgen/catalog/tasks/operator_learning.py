"""Operator learning: the solution field of a PDE from its input field."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="operator_learning",
    names=Names("operator learning", "算子学习"),
    signals=(
        Signal(
            r"算子学习|operator\s*learning|偏微分方程|\bpdes?\b|partial\s*differential|求解方程"
            r"|solve\s*(?:the\s*)?(?:pde|equation)|surrogate|代理模型",
            order=100,
        ),
    ),
    modalities=(Modality.FIELD,),
    default_datasets={Modality.FIELD: "darcy"},
    default_family="fno",
    requires=("output_shape",),
    monitor="rel_l2",
    monitor_mode="min",
    metrics=("rel_l2", "mse", "loss"),
    output_shape=lambda data: tuple(data.output_shape or data.input_shape),
    inference_examples={
        Modality.FIELD: ("path/to/field.npy", "path/to/fields/ --output predictions.json")
    },
    description="a solution field from an input field; (C_in, *grid) -> (C_out, *grid)",
)
