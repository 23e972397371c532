"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import section_kwargs

SOURCES = ("generator", "mat", "synthetic")
SPACE_TIME_DATASETS = ("navier_stokes_3d",)
NORMALIZATION_KEYS = ("x_mean", "x_std", "y_mean", "y_std")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    root: str = "data"
    path: str | None = None
    test_path: str | None = None
    dims: int = 2
    in_channels: int = 1
    out_channels: int = 1
    resolution: int = 64
    subsample: int = 1
    time_in: int = 10
    time_out: int = 10
    num_train: int = 1000
    num_val: int = 100
    num_test: int = 200
    seed: int = 0
    cache: bool = True
    generator: dict[str, Any] = field(default_factory=dict)
    normalization: dict[str, tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        if self.dims not in (1, 2, 3):
            raise ValueError(f"data.dims={self.dims} must be 1, 2 or 3")
        for name in ("in_channels", "out_channels", "subsample", "time_in", "time_out"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        for name in ("num_train", "num_val", "num_test"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if self.resolution < 2:
            raise ValueError(f"data.resolution={self.resolution} must be >= 2")
        if self.source == "mat" and not self.path:
            raise ValueError(
                "data.source=mat needs data.path: the .mat file of the benchmark "
                "(e.g. piececonst_r421_N1024_smooth1.mat for Darcy flow)"
            )
        self._check_normalization()

    def _check_normalization(self) -> None:
        if self.normalization is None:
            return
        missing = [key for key in NORMALIZATION_KEYS if key not in self.normalization]
        if missing:
            raise ValueError(f"data.normalization lacks {missing}; set all of {NORMALIZATION_KEYS}")
        sizes = {"x": self.in_channels, "y": self.out_channels}
        for key in NORMALIZATION_KEYS:
            expected = sizes[key[0]]
            if len(self.normalization[key]) != expected:
                raise ValueError(
                    f"data.normalization.{key} needs {expected} values (one per channel), "
                    f"got {len(self.normalization[key])}"
                )

    @property
    def grid(self) -> tuple[int, ...]:
        """The spatial shape of one sample: ``resolution`` per axis (time last for space-time)."""
        if self.name in SPACE_TIME_DATASETS:
            return (self.resolution,) * (self.dims - 1) + (self.time_out,)
        return (self.resolution,) * self.dims

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, ``(C_in, *grid)``."""
        return (self.in_channels, *self.grid)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one target sample, ``(C_out, *grid)``."""
        return (self.out_channels, *self.grid)

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
        kwargs["generator"] = {str(k): v for k, v in dict(kwargs.get("generator") or {}).items()}
        stats = kwargs.get("normalization")
        if stats is not None:
            kwargs["normalization"] = {
                str(key): tuple(float(v) for v in value) for key, value in dict(stats).items()
            }
        return cls(**kwargs)
