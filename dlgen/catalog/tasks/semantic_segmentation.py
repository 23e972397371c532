"""Semantic segmentation: one label per pixel."""

from __future__ import annotations

from dlgen.catalog.base import DataFact, Names, Signal, TaskEntry
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
    metrics=("miou", "pixel_accuracy", "mean_accuracy", "loss"),
    output_shape=lambda data: (data.num_classes or 1, *data.input_shape[1:]),
    inference_examples={
        Modality.IMAGE: ("path/to/image.png", "path/to/images/ --top-k 3 --output predictions.csv")
    },
    dataset_tasks=("semantic_segmentation",),
    data_facts=(
        # "binary" / foreground vs background: one foreground logit (smp's classes=1).
        DataFact(
            # The analyzer folds Chinese numerals to digits first: 二值 arrives as "2值".
            r"\bbinary\b|[二2]值|[二2]分类|前景.{0,6}背景|"
            r"foreground\s*(?:/|and|vs\.?|versus)\s*background",
            "num_classes",
            1,
        ),
        # Images of the user's own domain: their image+mask folders, not a benchmark.
        DataFact(
            r"\b(?:my|our|own|custom)\b.{0,20}\b(?:images?|data(?:set)?|photos?|scans?)\b|"
            r"\b(?:satellite|aerial|drone|remote[- ]sensing|microscop\w*|medical|histolog\w*|"
            r"cells?|ct|mri|x-ray|ultrasound|retinal|fundus)\b|"
            r"自己的|我的|自定义|卫星|遥感|航拍|无人机|显微|细胞|医学|病理|眼底|超声",
            "dataset",
            "custom_masks",
        ),
    ),
    description="one class label per pixel; (C, H, W) -> (num_classes, H, W) logits",
)
