"""Factories for test data."""

from __future__ import annotations

from typing import Any

from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Variant
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


def variant_spec(
    family: ArchitectureFamily, variant: Variant, entry: DatasetEntry, task: str
) -> Spec:
    """A Spec of a catalog variant on a catalog dataset, with the family's recipe.

    Raises:
        pydantic.ValidationError: When the catalog does not allow the combination.
    """
    data: dict[str, Any] = {**entry.spec_fields(), **variant.dataset_overrides}
    return Spec.model_validate(
        {
            "name": f"{family.key}_{entry.key}",
            "task": task,
            "modality": data["modality"],
            "dataset": data,
            "model": {"family": family.key, "variant": variant.key, **variant.hparams},
            "training": family.training_defaults,
        }
    )
