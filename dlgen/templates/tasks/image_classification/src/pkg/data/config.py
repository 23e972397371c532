"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

SOURCES = ("synthetic", "sklearn", "torchvision", "imagefolder")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    root: str = "data"
    download: bool = False
    in_channels: int = 3
    image_size: int = 224
    num_classes: int = 1000
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    augment: str = "imagenet"
    randaugment_magnitude: int | None = None
    random_erasing: float = 0.0
    val_fraction: float = 0.1
    split_seed: int = 0
    synthetic_train_size: int = 512
    synthetic_eval_size: int = 128
    class_names: tuple[str, ...] | None = None

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
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ValueError(
                f"data.mean and data.std need {self.in_channels} values (one per channel), "
                f"got {len(self.mean)} and {len(self.std)}"
            )
        if any(value <= 0 for value in self.std):
            raise ValueError(f"data.std values must be > 0, got {list(self.std)}")
        magnitude = self.randaugment_magnitude
        if magnitude is not None and not 0 <= magnitude <= 30:
            raise ValueError(f"data.randaugment_magnitude={magnitude} must be in [0, 30] or null")
        if not 0.0 <= self.random_erasing <= 1.0:
            raise ValueError(f"data.random_erasing={self.random_erasing} must be in [0, 1]")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={self.val_fraction} must be in [0, 1)")
        if self.synthetic_train_size < 1 or self.synthetic_eval_size < 1:
            raise ValueError("data.synthetic_train_size and synthetic_eval_size must be >= 1")
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"data.class_names has {len(self.class_names)} names for "
                f"{self.num_classes} classes"
            )

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
        for name in ("mean", "std"):
            if name in kwargs:
                kwargs[name] = tuple(float(value) for value in kwargs[name])
        if kwargs.get("class_names") is not None:
            kwargs["class_names"] = tuple(str(value) for value in kwargs["class_names"])
        return cls(**kwargs)
