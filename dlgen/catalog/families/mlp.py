"""Multilayer perceptrons for tabular data and flattened small images."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_MAX_INPUT_FEATURES = 1_000_000


class MLPHParams(ArchitectureHParams):
    """A stack of fully connected layers of widths ``hidden_dims``.

    Each hidden layer is Linear, optional normalization (``norm``), the activation
    and dropout. Images are flattened first.
    """

    family: Literal["mlp"] = "mlp"
    hidden_dims: list[PositiveInt] = Field(default_factory=lambda: [256, 128, 64], min_length=1)
    activation: Activation = "relu"
    dropout: float = Field(default=0.1, ge=0, lt=1)
    norm: Literal["none", "batch", "layer"] = "none"

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if dataset.modality not in (Modality.TABULAR, Modality.IMAGE):
            problems.append(
                f"an MLP takes tabular rows or flattened images; dataset {dataset.name!r} is "
                f"{dataset.modality.value}"
            )
        elif prod(dataset.input_shape) > _MAX_INPUT_FEATURES:
            problems.append(
                f"flattening {dataset.input_shape} gives {prod(dataset.input_shape):,} inputs; "
                "use a CNN or ViT for images this large"
            )
        if dataset.num_classes is None and dataset.output_shape is None:
            problems.append(
                f"dataset {dataset.name!r} has neither num_classes nor output_shape; set one"
            )
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        features = prod(dataset.input_shape)
        outputs = dataset.num_classes or prod(dataset.output_shape or [1])
        norm = 0 if self.norm == "none" else 2
        total = 0
        for hidden in self.hidden_dims:
            total += features * hidden + hidden + norm * hidden
            features = hidden
        return total + features * outputs + outputs


def _variant(key: str, en: str, zh: str, dims: list[int], aliases: tuple[str, ...]) -> Variant:
    return Variant(
        key=key, names=Names(en=en, zh=zh, aliases=aliases), hparams={"hidden_dims": dims}
    )


FAMILY = ArchitectureFamily(
    key="mlp",
    names=Names(
        en="Multilayer Perceptron",
        zh="多层感知机",
        aliases=(
            "mlp",
            "multilayer perceptron",
            "multi-layer perceptron",
            "feedforward network",
            "feed-forward network",
            "fully connected network",
            "dnn",
            "多层感知机",
            "多层感知器",
            "全连接网络",
            "全连接神经网络",
            "前馈神经网络",
            "前馈网络",
        ),
    ),
    hparams_model=MLPHParams,
    tasks=("tabular_classification", "tabular_regression", "image_classification"),
    variants=(
        _variant("small", "small MLP", "小型MLP", [64, 64], ("small mlp", "小型mlp")),
        _variant("medium", "MLP 256-128-64", "三层MLP", [256, 128, 64], ("medium mlp",)),
        _variant("large", "large MLP", "大型MLP", [1024, 512, 256], ("large mlp", "大型mlp")),
    ),
    default_variant="medium",
    default_datasets={
        "tabular_classification": "iris",
        "tabular_regression": "diabetes",
        "image_classification": "mnist",
    },
    paper="Rumelhart et al., Learning representations by back-propagating errors, 1986",
    training_defaults={
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "epochs": 100,
        "batch_size": 32,
        "grad_clip": None,
    },
)
