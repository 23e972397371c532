"""Build the chronological train/val/test window datasets of ``data.source``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .series import Normalizer, make_windows, read_csv_series, synthetic_series


@dataclass
class Prepared:
    """The datasets plus what inference needs to scale new inputs the same way.

    Attributes:
        splits: Train, validation and test windows.
        normalizer: Per-feature statistics of the training steps.
        columns: Feature names.
    """

    splits: DataSplits
    normalizer: Normalizer
    columns: list[str]


def load_series(data: DataConfig) -> tuple[np.ndarray, list[str]]:
    """The raw series of the configured source.

    Args:
        data: The data config.

    Returns:
        ``(values (T, F), feature names)``.

    Raises:
        FileNotFoundError: If the CSV file is missing.
        ValueError: If the number of features differs from ``data.num_features``.
    """
    if data.source == "synthetic":
        values = synthetic_series(
            data.synthetic_length, data.num_features, data.split_seed, data.synthetic_noise
        )
        return values, [f"x{index}" for index in range(data.num_features)]
    columns = list(data.columns) if data.columns is not None else None
    values, names = read_csv_series(Path(data.root) / data.file, columns)
    if values.shape[1] != data.num_features:
        raise ValueError(
            f"{Path(data.root) / data.file} has {values.shape[1]} numeric columns {names}, but "
            f"data.num_features={data.num_features}; set it (and the model follows) or list "
            "data.columns"
        )
    return values, names


def prepare(data: DataConfig) -> Prepared:
    """Load the series, split it in time, fit the normaliser on train, cut windows.

    Args:
        data: The data config.

    Returns:
        The window datasets, the normaliser and the feature names.
    """
    values, names = load_series(data)
    windows, normalizer = make_windows(
        values, data.input_length, data.horizon, data.split_fractions, stride=data.stride
    )
    splits = DataSplits(windows["train"], windows["val"], windows["test"])
    return Prepared(splits, normalizer, names)
