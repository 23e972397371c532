"""Semantic segmentation: one label per pixel."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="semantic_segmentation",
    names=Names("semantic segmentation", "语义分割"),
    signals=(Signal(r"语义分割|图像分割|分割|segmentation|segment\b|mask\s*prediction", order=60),),
    modalities=(Modality.IMAGE,),
    default_datasets={Modality.IMAGE: "oxford_pet"},
    default_family="unet",
    requires=("num_classes",),
    monitor="miou",
    monitor_mode="max",
    metrics=("miou", "pixel_accuracy", "loss"),
    output_shape=lambda data: (data.num_classes or 1, *data.input_shape[1:]),
    description="one class label per pixel; (C, H, W) -> (num_classes, H, W) logits",
)
