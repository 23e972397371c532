"""Image classification: one label per image."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.catalog.tasks import CLASSIFY
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="image_classification",
    names=Names("image classification", "图像分类"),
    signals=(
        Signal(
            r"图像分类|图片分类|image\s*classification|classify\s*(?:the\s*)?images|图像识别"
            r"|image\s*recognition",
            order=40,
        ),
        Signal(CLASSIFY, order=900),
    ),
    modalities=(Modality.IMAGE,),
    default_datasets={Modality.IMAGE: "cifar10"},
    default_family="resnet",
    requires=("num_classes",),
    monitor="top1",
    monitor_mode="max",
    metrics=("top1", "top5", "loss"),
    output_shape=lambda data: (data.num_classes or 1,),
    inference_examples={
        Modality.IMAGE: ("path/to/image.png", "path/to/images/ --top-k 3 --output predictions.csv")
    },
    description="one class label per image; (C, H, W) -> (num_classes,) logits",
)
