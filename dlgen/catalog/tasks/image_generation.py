"""Image generation: new samples from the data distribution."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="image_generation",
    names=Names("image generation", "图像生成"),
    signals=(
        Signal(
            r"图像生成|生成图像|生成图片|生成手写|image\s*generation"
            r"|generat\w*\s*(?:new\s*)?(?:images|samples|pictures|digits|faces)|生成模型"
            r"|generative\s*model|采样生成|去噪生成",
            order=110,
        ),
    ),
    modalities=(Modality.IMAGE,),
    default_datasets={Modality.IMAGE: "cifar10"},
    default_family="ddpm",
    requires=(),
    monitor="loss",
    monitor_mode="min",
    metrics=("loss",),
    output_shape=lambda data: tuple(data.input_shape),
    description="new images; the network maps a noisy (C, H, W) image to (C, H, W)",
)
