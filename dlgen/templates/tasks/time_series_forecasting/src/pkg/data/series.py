"""Multivariate time series: CSV files or a synthetic seasonal generator, sliding windows.

The series is split chronologically (train, then validation, then test), a per-feature
standardisation is fitted on the training part only, and each split is cut into windows
of ``input_length`` past steps followed by ``horizon`` target steps. Validation and test
windows may look back into the previous split for their inputs, but every target step
lies inside its own split, so no target is ever seen in training.

CSV layout (``data.root``/``data.file``): one row per time step in time order, a header
row, numeric feature columns; non-numeric columns (e.g. a ``date`` column) are dropped, or
list the columns to use in ``data.columns``. ETT's ``ETTh1.csv`` (``date`` + 7 features)
works as is.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Normalizer:
    """Per-feature standardisation fitted on the training steps.

    Attributes:
        mean: Mean of each feature, shape ``(F,)``.
        std: Standard deviation of each feature (at least ``1e-8``), shape ``(F,)``.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, series: np.ndarray) -> Normalizer:
        """Fit on the training part of a series.

        Args:
            series: Training steps, shape ``(T_train, F)``.

        Returns:
            The fitted normaliser.
        """
        return cls(series.mean(axis=0), np.maximum(series.std(axis=0), 1e-8))

    def transform(self, series: np.ndarray) -> np.ndarray:
        """Standardise values.

        Args:
            series: Shape ``(..., F)``.

        Returns:
            ``(series - mean) / std``, float32, same shape.
        """
        return ((series - self.mean) / self.std).astype(np.float32)

    def inverse(self, values: Tensor) -> Tensor:
        """Map standardised predictions back to the original units.

        Args:
            values: Shape ``(..., F)``.

        Returns:
            ``values * std + mean``, same shape.
        """
        std = torch.as_tensor(self.std, dtype=values.dtype, device=values.device)
        mean = torch.as_tensor(self.mean, dtype=values.dtype, device=values.device)
        return values * std + mean


class SlidingWindows(Dataset[tuple[Tensor, Tensor]]):
    """Every window of ``input_length`` inputs followed by ``horizon`` targets.

    Args:
        series: Standardised values, shape ``(T, F)``.
        input_length: Past steps per sample ``L``.
        horizon: Future steps per sample ``H``.
        first_target: Index of the first step allowed as a target (earlier steps only serve
            as inputs); windows whose first target is before it are skipped.
        stride: Steps between consecutive windows.

    Raises:
        ValueError: If the series is too short for a single window.
    """

    def __init__(
        self,
        series: np.ndarray,
        input_length: int,
        horizon: int,
        first_target: int = 0,
        stride: int = 1,
    ) -> None:
        if min(input_length, horizon, stride) < 1:
            raise ValueError(
                f"input_length, horizon and stride must be >= 1, got "
                f"{input_length}, {horizon}, {stride}"
            )
        self.series = torch.from_numpy(np.ascontiguousarray(series, dtype=np.float32))
        self.input_length = input_length
        self.horizon = horizon
        start = max(first_target - input_length, 0)
        last = len(series) - input_length - horizon
        self.starts = list(range(start, last + 1, stride))
        if not self.starts:
            raise ValueError(
                f"a split of {len(series) - first_target} steps is too short for one window of "
                f"input_length={input_length} + horizon={horizon}; use more data, a shorter "
                "window or other split fractions"
            )

    def __len__(self) -> int:
        """Number of windows.

        Returns:
            The dataset size.
        """
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """One window.

        Args:
            index: Window index.

        Returns:
            ``(inputs, targets)`` of shapes ``(L, F)`` and ``(H, F)``.
        """
        start = self.starts[index]
        middle = start + self.input_length
        return self.series[start:middle], self.series[middle : middle + self.horizon]


def split_bounds(length: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Where validation and test begin in a chronologically split series.

    Args:
        length: Number of steps ``T``.
        fractions: Shares of train, validation and test (summing to 1).

    Returns:
        ``(val_start, test_start)`` step indices.

    Raises:
        ValueError: If the fractions are not positive or do not sum to 1.
    """
    if any(f <= 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"data.split_fractions must be three positive shares summing to 1, got {fractions}"
        )
    val_start = int(round(length * fractions[0]))
    test_start = int(round(length * (fractions[0] + fractions[1])))
    return val_start, test_start


def make_windows(
    series: np.ndarray,
    input_length: int,
    horizon: int,
    fractions: tuple[float, float, float],
    stride: int = 1,
) -> tuple[dict[str, SlidingWindows], Normalizer]:
    """Split a series chronologically, fit the normaliser on train, cut windows.

    Args:
        series: Raw values, shape ``(T, F)``.
        input_length: Past steps per sample.
        horizon: Future steps per sample.
        fractions: Shares of train, validation and test.
        stride: Steps between training windows (evaluation windows use 1).

    Returns:
        ``({"train": ..., "val": ..., "test": ...}, normaliser)``.
    """
    val_start, test_start = split_bounds(len(series), fractions)
    normalizer = Normalizer.fit(series[:val_start])
    scaled = normalizer.transform(series)
    splits = {
        "train": SlidingWindows(scaled[:val_start], input_length, horizon, stride=stride),
        "val": SlidingWindows(scaled[:test_start], input_length, horizon, first_target=val_start),
        "test": SlidingWindows(scaled, input_length, horizon, first_target=test_start),
    }
    return splits, normalizer


def synthetic_series(length: int, num_features: int, seed: int, noise: float = 0.1) -> np.ndarray:
    """A multivariate series of seasonal patterns, trend and noise.

    Every feature mixes a daily-like cycle (period 24) and a slower cycle (period 168)
    with its own amplitudes and phases, a gentle linear trend, a share of the first
    feature (cross-feature coupling) and Gaussian noise. The cycles make the future
    predictable from the past; the noise keeps the last-value baseline imperfect.

    Args:
        length: Number of steps ``T``.
        num_features: Number of features ``F``.
        seed: Seed of the generator.
        noise: Standard deviation of the additive noise.

    Returns:
        Shape ``(T, F)``, float32.

    Raises:
        ValueError: If ``length`` or ``num_features`` is not positive.
    """
    if length < 1 or num_features < 1:
        raise ValueError(f"length and num_features must be >= 1, got {length}, {num_features}")
    rng = np.random.default_rng(seed)
    time = np.arange(length, dtype=np.float64)[:, None]  # (T, 1)
    amplitudes = rng.uniform(0.5, 1.5, size=(2, num_features))
    phases = rng.uniform(0.0, 2 * np.pi, size=(2, num_features))
    daily = amplitudes[0] * np.sin(2 * np.pi * time / 24 + phases[0])  # (T, F)
    weekly = amplitudes[1] * np.sin(2 * np.pi * time / 168 + phases[1])
    trend = rng.uniform(-1.0, 1.0, size=num_features) * time / max(length, 1)
    series = daily + 0.5 * weekly + trend
    series[:, 1:] += 0.3 * series[:, :1]
    series += noise * rng.standard_normal(series.shape)
    return series.astype(np.float32)


def read_csv_series(path: Path, columns: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Read the numeric columns of a CSV time series.

    Args:
        path: The CSV file (header row, one row per step, in time order).
        columns: Columns to keep; ``None`` keeps every column whose values are all numbers.

    Returns:
        ``(values, names)``: shape ``(T, F)`` float32 and the column names.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If a requested column is missing or non-numeric, or none is numeric.
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"time series file {path} not found; put the CSV there, set data.root/data.file, "
            "or use data.source=synthetic"
        )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no data rows")
    names = columns if columns is not None else [n for n in rows[0] if _numeric(rows, n)]
    missing = [name for name in names if name not in rows[0]]
    if missing or not names:
        raise ValueError(f"{path}: columns {missing or 'numeric'} not found; have {list(rows[0])}")
    try:
        values = np.array([[float(row[name]) for name in names] for row in rows], np.float32)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric value in columns {names}: {exc}") from exc
    return values, names


def _numeric(rows: list[dict[str, str]], name: str) -> bool:
    try:
        for row in rows[:100]:
            float(row[name])
    except (TypeError, ValueError):
        return False
    return True


def naive_forecast(inputs: Tensor, horizon: int) -> Tensor:
    """The last-value baseline: repeat the last observed step.

    Args:
        inputs: Windows of shape ``(B, L, F)``.
        horizon: Steps to predict.

    Returns:
        Shape ``(B, horizon, F)``.
    """
    return inputs[:, -1:].expand(-1, horizon, -1)
