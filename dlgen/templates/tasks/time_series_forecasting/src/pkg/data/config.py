"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

SOURCES = ("csv", "synthetic")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    num_features: int
    input_length: int
    horizon: int
    root: str = "data"
    file: str = "series.csv"
    columns: tuple[str, ...] | None = None
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    stride: int = 1
    synthetic_length: int = 6000
    synthetic_noise: float = 0.1
    split_seed: int = 0

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        for name in ("num_features", "input_length", "horizon", "stride", "synthetic_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if self.columns is not None and len(self.columns) != self.num_features:
            raise ValueError(
                f"data.columns lists {len(self.columns)} columns but num_features is "
                f"{self.num_features}; make them agree"
            )
        if len(self.split_fractions) != 3:
            raise ValueError("data.split_fractions needs three shares: train, val, test")
        if self.synthetic_noise < 0:
            raise ValueError(f"data.synthetic_noise={self.synthetic_noise} must be >= 0")

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
        if kwargs.get("columns") is not None:
            kwargs["columns"] = tuple(str(value) for value in kwargs["columns"])
        if "split_fractions" in kwargs:
            kwargs["split_fractions"] = tuple(float(v) for v in kwargs["split_fractions"])
        return cls(**kwargs)
