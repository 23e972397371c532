"""Reconstruction: an input through a compressed representation and back."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="reconstruction",
    names=Names("reconstruction", "重建"),
    signals=(
        Signal(
            r"重建|重构|reconstruct\w*|去噪|denois\w*|降维|dimensionality\s*reduction|异常检测"
            r"|anomaly\s*detection|压缩表示",
            order=120,
        ),
    ),
    modalities=(Modality.IMAGE, Modality.TABULAR),
    default_datasets={Modality.IMAGE: "mnist"},
    default_family="autoencoder",
    requires=(),
    monitor="loss",
    monitor_mode="min",
    metrics=("loss", "mse"),
    output_shape=lambda data: tuple(data.input_shape),
    description="the input itself through a bottleneck; x -> x of the same shape",
)
