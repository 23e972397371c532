"""Multilayer perceptron for tabular rows (numeric features and categorical embeddings).

A row's numeric features ``(B, F)`` are concatenated with one learned embedding per
categorical column (entity embeddings, Guo & Berkhahn 2016), then pass through
``len(hidden_dims)`` blocks of Linear, optional batch or layer norm, the activation and
dropout, each optionally residual (the identity where the widths match, else a bias-free
linear projection), and a linear output layer. Images ``(B, C, H, W)`` are flattened to
``C * H * W`` numeric features first.

Embedding widths follow the fast.ai (2018) rule ``min(50, (cardinality + 1) // 2)`` unless
``embedding_dim`` fixes one width for every column. A column's cardinality counts its
categories plus index 0, which stands for a missing or unseen value.
"""

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..layers.activations import get_activation
from .registry import register_model

NORMS = ("none", "batch", "layer")
# fast.ai's cap on the width of one categorical embedding.
MAX_EMBEDDING_DIM = 50


def _is_exporting() -> bool:
    """Whether ``torch.export`` is tracing (``torch.compiler.is_exporting``, torch >= 2.5)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting()) if is_exporting is not None else False


def embedding_width(cardinality: int, fixed: int | None = None) -> int:
    """Width of one categorical embedding.

    Args:
        cardinality: Rows of the embedding table (categories + 1 for missing/unseen).
        fixed: A width for every column; None applies the fast.ai rule.

    Returns:
        ``fixed``, or ``min(50, (cardinality + 1) // 2)``.
    """
    return fixed if fixed is not None else min(MAX_EMBEDDING_DIM, (cardinality + 1) // 2)


@dataclass
class MLPConfig:
    """Hyperparameters of an MLP (field names as in the project config).

    Attributes:
        num_outputs: Output width: the number of classes, or of regression targets.
        num_numeric: Numeric features per row ``F`` (tabular data).
        categorical_cardinalities: Embedding rows per categorical column, in column order
            (categories + 1: index 0 is a missing or unseen value); empty: none.
        in_channels: Image channels ``C`` (images are flattened; then ``num_numeric`` is
            None).
        image_size: Side of the square input images.
        hidden_dims: Widths of the hidden layers, e.g. ``[256, 128, 64]``.
        activation: Activation after each hidden layer's normalisation.
        dropout: Dropout after each hidden activation.
        norm: ``none``, ``batch`` (BatchNorm1d; the linear layer before it has no bias) or
            ``layer`` (LayerNorm) after each hidden linear layer.
        residual: Add each block's input to its output: the identity where the widths
            match, else a bias-free linear projection.
        embedding_dim: One embedding width for every categorical column; None: the fast.ai
            rule ``min(50, (cardinality + 1) // 2)``.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    num_outputs: int
    num_numeric: int | None = None
    categorical_cardinalities: list[int] = field(default_factory=list)
    in_channels: int | None = None
    image_size: int | None = None
    hidden_dims: list[int] = field(default_factory=lambda: [256, 128, 64])
    activation: str = "relu"
    dropout: float = 0.1
    norm: str = "none"
    residual: bool = False
    embedding_dim: int | None = None
    variant: str | None = None

    def __post_init__(self) -> None:
        """Normalise the lists to ints and check the values against each other.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        self.hidden_dims = [int(width) for width in self.hidden_dims]
        self.categorical_cardinalities = [int(c) for c in self.categorical_cardinalities]
        problems = []
        image = self.in_channels is not None or self.image_size is not None
        if image and (self.in_channels is None or self.image_size is None):
            problems.append("images need both in_channels and image_size")
        if image and (self.num_numeric is not None or self.categorical_cardinalities):
            problems.append("set either in_channels/image_size (images) or num_numeric (rows)")
        if not image and self.num_numeric is None:
            problems.append("set num_numeric (tabular rows) or in_channels and image_size")
        if self.num_numeric is not None and self.num_numeric < 0:
            problems.append(f"num_numeric must be >= 0, got {self.num_numeric}")
        if any(c < 2 for c in self.categorical_cardinalities):
            problems.append(
                "every categorical cardinality must be >= 2 (index 0 is missing/unseen), got "
                f"{self.categorical_cardinalities}"
            )
        if self.num_outputs < 1:
            problems.append(f"num_outputs must be >= 1, got {self.num_outputs}")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            problems.append(f"hidden_dims must be a non-empty list of positive ints: {self.hidden_dims}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.norm not in NORMS:
            problems.append(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.embedding_dim is not None and self.embedding_dim < 1:
            problems.append(f"embedding_dim must be >= 1 or null, got {self.embedding_dim}")
        if not image and self.num_numeric == 0 and not self.categorical_cardinalities:
            problems.append("a row needs at least one numeric or categorical feature")
        if problems:
            raise ValueError("invalid MLP config: " + "; ".join(problems))

    @property
    def image(self) -> bool:
        """Whether the inputs are images ``(B, C, H, W)`` (flattened by the model)."""
        return self.in_channels is not None

    @property
    def numeric_features(self) -> int:
        """Numeric inputs per sample: ``num_numeric``, or ``C * H * W`` for images."""
        if self.in_channels is not None and self.image_size is not None:
            return self.in_channels * self.image_size**2
        return int(self.num_numeric or 0)

    @property
    def embedding_widths(self) -> list[int]:
        """The width of each categorical column's embedding."""
        return [embedding_width(c, self.embedding_dim) for c in self.categorical_cardinalities]


class MLPBlock(nn.Module):
    """``dropout(act(norm(linear(x))))``, plus ``shortcut(x)`` when residual.

    Shapes: ``(B, D_in) -> (B, D_out)``; cost ``O(B * D_in * D_out)``.

    Args:
        in_features: ``D_in``.
        out_features: ``D_out``.
        activation: Activation name (see ``layers.activations``).
        dropout: Dropout probability after the activation.
        norm: ``none``, ``batch`` or ``layer``.
        residual: Add the input (projected when ``D_in != D_out``) to the output.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str,
        dropout: float,
        norm: str,
        residual: bool,
    ) -> None:
        super().__init__()
        # Batch norm subtracts the batch mean, so a bias before it would get no gradient.
        self.linear = nn.Linear(in_features, out_features, bias=norm != "batch")
        self.norm: nn.Module
        if norm == "batch":
            self.norm = nn.BatchNorm1d(out_features)
        elif norm == "layer":
            self.norm = nn.LayerNorm(out_features)
        else:
            self.norm = nn.Identity()
        self.act = get_activation(activation)
        self.drop = nn.Dropout(dropout)
        self.shortcut: nn.Module | None = None
        if residual:
            self.shortcut = (
                nn.Identity()
                if in_features == out_features
                else nn.Linear(in_features, out_features, bias=False)
            )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: ``(B, D_in)``.

        Returns:
            ``(B, D_out)``.
        """
        out = self.drop(self.act(self.norm(self.linear(x))))
        return out if self.shortcut is None else out + self.shortcut(x)


class MLP(nn.Module):
    """Numeric features and categorical embeddings through fully connected blocks.

    Shapes: ``(B, F)`` floats and ``(B, K)`` int64 category indices (or ``(B, C, H, W)``
    images) -> ``(B, num_outputs)``.

    Args:
        config: The hyperparameters.
    """

    # The output layer: re-initialised when pretrained weights have another output count.
    pretrained_head = ("head",)

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.ModuleList(
            nn.Embedding(cardinality, width)
            for cardinality, width in zip(
                config.categorical_cardinalities, config.embedding_widths, strict=True
            )
        )
        features = config.numeric_features + sum(config.embedding_widths)
        blocks = []
        for width in config.hidden_dims:
            blocks.append(
                MLPBlock(
                    features, width, config.activation, config.dropout, config.norm, config.residual
                )
            )
            features = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(features, config.num_outputs)

    def _check_inputs(self, x: Tensor, categorical: Tensor | None) -> None:
        config = self.config
        if config.image:
            expected = (config.in_channels, config.image_size, config.image_size)
            if x.ndim != 4 or tuple(x.shape[1:]) != expected:
                raise ValueError(
                    f"expected images shaped (B, {', '.join(map(str, expected))}), got "
                    f"{tuple(x.shape)}"
                )
            return
        if x.ndim != 2 or x.shape[1] != config.numeric_features:
            raise ValueError(
                f"expected numeric features shaped (B, {config.numeric_features}), got "
                f"{tuple(x.shape)}"
            )
        columns = len(self.embeddings)
        if columns == 0:
            if categorical is not None and categorical.numel() > 0:
                raise ValueError("the model has no categorical columns but got category indices")
            return
        if categorical is None:
            raise ValueError(f"expected category indices shaped (B, {columns}), got none")
        if categorical.shape != (x.shape[0], columns):
            raise ValueError(
                f"expected category indices shaped ({x.shape[0]}, {columns}), got "
                f"{tuple(categorical.shape)}"
            )
        if categorical.is_floating_point():
            raise ValueError("category indices must be integers (int64), got floats")
        if torch.compiler.is_compiling() or _is_exporting():
            return  # the value range is data-dependent: not checked while tracing
        limits = torch.tensor(config.categorical_cardinalities, device=categorical.device)
        if bool((categorical < 0).any()) or bool((categorical >= limits).any()):
            raise ValueError(
                f"category indices must lie in [0, cardinality) per column, cardinalities "
                f"{config.categorical_cardinalities}; refit the preprocessing or raise "
                "data.categorical_cardinalities"
            )

    def forward(self, x: Tensor, categorical: Tensor | None = None) -> Tensor:
        """Map rows (or images) to outputs.

        Args:
            x: ``(B, F)`` numeric features, or ``(B, C, H, W)`` images.
            categorical: ``(B, K)`` int64 category indices, one column per embedding;
                None when the model has no categorical columns.

        Returns:
            ``(B, num_outputs)`` logits or regression values.

        Raises:
            ValueError: If the inputs do not match the configured features.
        """
        self._check_inputs(x, categorical)
        features = x.flatten(1)  # (B, F) (images: (B, C * H * W))
        if len(self.embeddings) > 0 and categorical is not None:
            embedded = [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
            features = torch.cat([features, *embedded], dim=1)  # (B, F + sum(widths))
        return self.head(self.blocks(features))


@register_model("mlp")
def build_mlp(cfg: dict[str, Any]) -> nn.Module:
    """Build an MLP from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`MLPConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`MLPConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return MLP(MLPConfig(**fields))
