"""Multilayer perceptrons for tabular data and flattened small images."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_MAX_INPUT_FEATURES = 1_000_000
# fast.ai's cap on the width of one categorical embedding.
_MAX_EMBEDDING_DIM = 50


def embedding_width(cardinality: int, fixed: int | None = None) -> int:
    """Width of one categorical embedding: ``fixed``, else fast.ai's ``min(50, (c + 1) // 2)``."""
    return fixed if fixed is not None else min(_MAX_EMBEDDING_DIM, (cardinality + 1) // 2)


def mlp_parameters(
    hparams: MLPHParams,
    numeric: int,
    outputs: int,
    cardinalities: Sequence[int] = (),
) -> int:
    """Trainable parameters of the generated ``models/mlp.py`` network.

    Args:
        hparams: The hyperparameters.
        numeric: Numeric input features (``C * H * W`` for images).
        outputs: Output width (classes or regression targets).
        cardinalities: Embedding rows per categorical column.

    Returns:
        Embeddings, hidden blocks (weights, biases unless batch norm follows, norm affine
        parameters, residual projections) and the output layer.
    """
    widths = [embedding_width(c, hparams.embedding_dim) for c in cardinalities]
    total = sum(c * w for c, w in zip(cardinalities, widths, strict=True))
    features = numeric + sum(widths)
    for hidden in hparams.hidden_dims:
        total += features * hidden
        total += 0 if hparams.norm == "batch" else hidden  # bias
        total += 0 if hparams.norm == "none" else 2 * hidden  # norm weight and bias
        if hparams.residual and features != hidden:
            total += features * hidden  # bias-free projection of the shortcut
        features = hidden
    return total + features * outputs + outputs


class MLPHParams(ArchitectureHParams):
    """A stack of fully connected blocks of widths ``hidden_dims``.

    Each hidden block is Linear, optional normalization (``norm``), the activation and
    dropout, optionally residual. Tabular rows feed their numeric features and one
    embedding per categorical column; images are flattened first.
    """

    family: Literal["mlp"] = "mlp"
    hidden_dims: list[PositiveInt] = Field(default_factory=lambda: [256, 128, 64], min_length=1)
    activation: Activation = "relu"
    dropout: float = Field(default=0.1, ge=0, lt=1)
    norm: Literal["none", "batch", "layer"] = "none"
    residual: bool = Field(
        default=False,
        description="Add each block's input to its output (a bias-free linear projection "
        "where the widths differ).",
    )
    embedding_dim: PositiveInt | None = Field(
        default=None,
        description="Width of every categorical embedding; None: min(50, (cardinality+1)//2).",
    )

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

    def _outputs(self, dataset: DatasetSpec) -> int:
        if dataset.output_shape is not None and dataset.modality == Modality.TABULAR:
            return prod(dataset.output_shape)
        return dataset.num_classes or prod(dataset.output_shape or [1])

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        # The Spec's features are numeric; categorical columns are configured in the project.
        return mlp_parameters(self, prod(dataset.input_shape), self._outputs(dataset))

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        features, macs = prod(dataset.input_shape), 0
        for hidden in self.hidden_dims:
            macs += features * hidden * (2 if self.residual and features != hidden else 1)
            features = hidden
        return 2 * (macs + features * self._outputs(dataset))

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        # Per block: the linear output, the normalised and the activated copies.
        return prod(dataset.input_shape) + 3 * sum(self.hidden_dims)

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        return [("fully connected block (D_in -> D_out)", "O(B * D_in * D_out)")]


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
        # Tabular MLPs overfit quickly: stop after 20 evaluations without improvement.
        "early_stopping_patience": 20,
    },
)
