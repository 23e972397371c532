"""Render real projects for the model-template tests and the benchmark, and import their models.

The modules come out of :func:`dlgen.render.render`, so they are exactly what a user gets
(layers included, black-formatted, imports sorted).
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType

from dlgen import catalog
from dlgen.render import render
from dlgen.spec import Spec
from dlgen.spec.dataset import DatasetSpec

# The variant each family's package is rendered from (every model file is the same text).
RENDERED_VARIANTS = {
    "vit": "b16",
    "resnet": "resnet50",
    "cnn": "lenet5",
    "unet": "unet",
    "deeplabv3plus": "resnet50",
    "segformer": "b0",
    "gpt": "nanogpt",
}
# The data each segmentation family's reference parameter counts are given for.
SEGMENTATION_REFERENCE_DATA = {
    "unet": "oxford_pet",
    "deeplabv3plus": "pascal_voc",
    "segformer": "ade20k",
}


def dataset_spec(key: str) -> DatasetSpec:
    """The Spec's dataset part for a catalog dataset."""
    entry = catalog.dataset(key)
    return DatasetSpec(
        name=entry.key,
        modality=entry.modality,
        source=entry.source,
        input_shape=list(entry.input_shape),
        in_channels=entry.input_shape[0],
        num_classes=entry.num_classes,
    )


def text_dataset_spec(key: str, **overrides: object) -> DatasetSpec:
    """The Spec's dataset part for a catalog text dataset (vocabulary, sequence length)."""
    entry = catalog.dataset(key)
    fields = {"input_shape": list(entry.input_shape), "vocab_size": entry.vocab_size}
    return DatasetSpec(
        name=entry.key,
        modality=entry.modality,
        source=entry.source,
        **{**fields, **overrides},  # type: ignore[arg-type]
    )


def reference_dataset(family: str, variant: catalog.Variant) -> DatasetSpec:
    """The data a variant's reference parameter count is given for."""
    if family == "resnet" and variant.hparams["style"] == "cifar":
        return dataset_spec("cifar10")
    if family == "cnn":
        return dataset_spec("ptb_xl" if variant.hparams["dims"] == 1 else "mnist")
    if family in SEGMENTATION_REFERENCE_DATA:
        return dataset_spec(SEGMENTATION_REFERENCE_DATA[family])
    if family == "gpt":
        return text_dataset_spec("tiny_shakespeare", **variant.dataset_overrides)
    return dataset_spec("imagenet")


def variant_spec(family: str, variant: catalog.Variant, name: str = "proj") -> Spec:
    """A Spec for a catalog variant on its reference data."""
    dataset = reference_dataset(family, variant)
    return Spec(
        name=name,
        task=catalog.dataset(dataset.name).task,
        modality=dataset.modality,
        dataset=dataset,
        model={"family": family, "variant": variant.key, **variant.hparams},
    )


def import_rendered_models(root: Path, families: tuple[str, ...]) -> dict[str, ModuleType]:
    """Render one project per family under ``root`` and import ``<package>.models.<family>``.

    Args:
        root: An empty folder; each project's ``src/`` content is written there.
        families: Family keys to render.

    Returns:
        Family key -> its imported model module (each with its own registry and layers).
    """
    suffix = uuid.uuid4().hex[:8]
    modules = {}
    for family in families:
        variant = catalog.family(family).variant(RENDERED_VARIANTS[family])
        spec = variant_spec(family, variant, name=f"rendered_{family}_{suffix}")
        prefix = f"src/{spec.name}/"
        for path, text in render(spec).items():
            if path.startswith(prefix):
                target = root / path.removeprefix("src/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        modules[family] = importlib.import_module(f"{spec.name}.models.{family}")
    return modules
