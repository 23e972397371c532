"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

SOURCES = ("synthetic", "folder", "oxford_pet", "pascal_voc", "cityscapes", "ade20k")
LOSSES = ("ce", "dice", "focal", "ce_dice")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does.

    ``num_classes == 1`` is binary segmentation: one foreground logit per pixel, a sigmoid,
    masks of 0 (background) and 1 (foreground). The loss settings live here because they
    depend on the labels (classes, ``ignore_index``, class weights).
    """

    name: str
    source: str
    root: str = "data"
    download: bool = False
    in_channels: int = 3
    image_size: int = 512
    num_classes: int = 21
    ignore_index: int = 255
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    scale_range: tuple[float, float] = (0.5, 2.0)
    hflip: bool = True
    val_fraction: float = 0.1
    split_seed: int = 0
    synthetic_train_size: int = 512
    synthetic_eval_size: int = 64
    class_names: tuple[str, ...] | None = None
    loss: str = "ce"
    class_weights: tuple[float, ...] | None = None
    focal_gamma: float = 2.0
    dice_weight: float = 1.0

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        for name in ("in_channels", "image_size", "num_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if 0 <= self.ignore_index < max(self.num_classes, 2):
            raise ValueError(
                f"data.ignore_index={self.ignore_index} is a class label; use 255 or -100"
            )
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ValueError(
                f"data.mean and data.std need {self.in_channels} values (one per channel), "
                f"got {len(self.mean)} and {len(self.std)}"
            )
        if any(value <= 0 for value in self.std):
            raise ValueError(f"data.std values must be > 0, got {list(self.std)}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"data.scale_range={list(self.scale_range)} needs 0 < low <= high")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={self.val_fraction} must be in [0, 1)")
        if self.synthetic_train_size < 1 or self.synthetic_eval_size < 1:
            raise ValueError("data.synthetic_train_size and synthetic_eval_size must be >= 1")
        if self.class_names is not None and len(self.class_names) != self.label_count:
            raise ValueError(
                f"data.class_names has {len(self.class_names)} names for {self.label_count} "
                "labels (binary segmentation: background and foreground)"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"data.loss={self.loss!r} is not one of {list(LOSSES)}")
        if self.class_weights is not None:
            if self.binary or len(self.class_weights) != self.num_classes:
                raise ValueError(
                    f"data.class_weights needs {self.num_classes} values (multi-class only), "
                    f"got {len(self.class_weights)}"
                )
        if self.focal_gamma < 0 or self.dice_weight < 0:
            raise ValueError("data.focal_gamma and data.dice_weight must be >= 0")

    @property
    def binary(self) -> bool:
        """Whether this is binary segmentation (one foreground logit)."""
        return self.num_classes == 1

    @property
    def label_count(self) -> int:
        """The labels a mask holds: 2 for binary segmentation, else ``num_classes``."""
        return 2 if self.binary else self.num_classes

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DataConfig:
        """Build from the ``data`` config section.

        Args:
            values: The section (a DictConfig or a dict).

        Returns:
            The checked config.

        Raises:
            ValueError: If a key is unknown or a value is invalid.
        """
        kwargs = section_kwargs(cls, values, "data")
        for name in ("mean", "std", "scale_range", "class_weights"):
            if kwargs.get(name) is not None:
                kwargs[name] = tuple(float(value) for value in kwargs[name])
        if kwargs.get("class_names") is not None:
            kwargs["class_names"] = tuple(str(value) for value in kwargs["class_names"])
        return cls(**kwargs)
