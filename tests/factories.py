"""Factories for test data."""

from __future__ import annotations

from typing import Any

from dlgen.spec import Spec


def make_spec(**overrides: Any) -> Spec:
    """A small valid ViT spec on CIFAR-10 shapes; overrides replace top-level fields."""
    data: dict[str, Any] = {
        "language": "en",
        "name": "tiny_vit",
        "task": "image_classification",
        "modality": "image",
        "dataset": {
            "name": "cifar10",
            "modality": "image",
            "source": "synthetic",
            "input_shape": [3, 32, 32],
            "in_channels": 3,
            "num_classes": 10,
        },
        "model": {
            "family": "vit",
            "patch_size": 8,
            "hidden_dim": 32,
            "num_layers": 2,
            "num_heads": 2,
        },
        "training": {"epochs": 2, "batch_size": 4, "num_workers": 0},
    }
    data.update(overrides)
    return Spec.model_validate(data)
