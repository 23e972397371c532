"""Semantic segmentation: the analyzer's facts for its requests, and learning on real code.

The models' faithfulness to smp and Hugging Face is tested per family
(``tests/test_*_model.py``); here the task: what a request states reaches the Spec, and
a generated U-Net learns the synthetic shapes on a CPU.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from dlgen import analyze
from dlgen.agent.offline.analyzer import analyze_choice
from tests.test_generated_project import assert_ok, run_in, write_project


@pytest.mark.parametrize(
    ("request_text", "facts"),
    [
        (
            "U-Net for binary segmentation of 512x512 satellite images",
            {"family": "unet", "dataset": "custom_masks", "source": "folder",
             "shape": [3, 512, 512], "classes": 1},
        ),
        (
            "DeepLabV3+ ResNet-50 on Pascal VOC, output stride 8",
            {"family": "deeplabv3plus", "dataset": "pascal_voc", "source": "torchvision",
             "shape": [3, 512, 512], "classes": 21},
        ),
        (
            "用SegFormer-B1在Cityscapes上训练语义分割",
            {"family": "segformer", "dataset": "cityscapes", "source": "cityscapes",
             "shape": [3, 512, 1024], "classes": 19},
        ),
        (
            "实现UNet分割细胞显微图像，灰度输入，3类",
            {"family": "unet", "dataset": "custom_masks", "source": "folder",
             "shape": [1, 256, 256], "classes": 3},
        ),
        (
            "U-Net on Oxford pets, foreground/background",
            {"family": "unet", "dataset": "oxford_pet", "source": "torchvision",
             "shape": [3, 256, 256], "classes": 1},
        ),
    ],
)  # fmt: skip
def test_segmentation_requests_keep_their_facts(request_text: str, facts: dict) -> None:
    spec = analyze(request_text)
    data = spec.dataset
    assert spec.task == "semantic_segmentation"
    assert spec.model.family == facts["family"]
    assert (data.name, data.source) == (facts["dataset"], facts["source"])
    assert data.input_shape == facts["shape"]
    assert data.num_classes == facts["classes"]


def test_deeplab_request_keeps_its_backbone_and_output_stride() -> None:
    spec = analyze("DeepLabV3+ ResNet-50 on Pascal VOC, output stride 8")
    assert (spec.model.backbone, spec.model.output_stride) == ("resnet50", 8)


def test_segformer_request_gets_the_b1_variant() -> None:
    spec = analyze("用SegFormer-B1在Cityscapes上训练语义分割")
    assert spec.model.variant == "b1" and spec.language == "zh"


def test_binary_is_stated_in_the_assumptions_in_the_users_language() -> None:
    english = analyze("U-Net for binary segmentation of 512x512 satellite images")
    assert any("num_classes=1" in line for line in english.assumptions)
    chinese = analyze("用U-Net做遥感图像二值分割")
    assert chinese.dataset.num_classes == 1 and chinese.dataset.name == "custom_masks"
    assert any("num_classes=1" in line and "理解为" in line for line in chinese.assumptions)


def test_classification_requests_are_untouched_by_segmentation_facts() -> None:
    spec = analyze("binary classification of satellite images with ResNet-18")
    assert spec.task == "image_classification"
    assert spec.dataset.num_classes != 1


@pytest.mark.slow
def test_generated_unet_learns_the_synthetic_shapes(tmp_path: Path) -> None:
    """A small U-Net on the synthetic shapes reaches mIoU >= 0.80 on a CPU in minutes."""
    spec = analyze_choice("unet", "semantic_segmentation", "oxford_pet")
    root = write_project(spec, tmp_path)
    overrides = [
        "data.source=synthetic",
        "data.image_size=64",
        "data.synthetic_train_size=384",
        "data.synthetic_eval_size=64",
        "model.base_channels=16",
        "model.depth=3",
        "training.epochs=6",
        "training.batch_size=16",
        "training.lr=0.003",
        "training.warmup_epochs=0",
        "training.num_workers=0",
        "training.progress_bar=false",
        "training.tensorboard=false",
        f"output_dir={tmp_path / 'outputs'}",
    ]
    started = time.perf_counter()
    result = run_in(root, [sys.executable, "train.py", *overrides], timeout=900)
    elapsed = time.perf_counter() - started
    assert_ok(result)
    (metrics_file,) = (tmp_path / "outputs").glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    print(f"U-Net synthetic shapes: test mIoU {metrics['test']['miou']:.3f} in {elapsed:.0f} s")
    assert metrics["test"]["miou"] >= 0.80, metrics["test"]
