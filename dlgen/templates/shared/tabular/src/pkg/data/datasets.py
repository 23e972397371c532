"""Train/validation/test splits of a table, preprocessed with statistics of the training rows.

:func:`prepare` reads the table, drops rows without a target, splits the rows with a seed
(stratified by class for classification), fits the :class:`~.preprocessing.Preprocessor`
on the training rows alone (or takes the fitted one stored in ``data.preprocessing``) and
returns tensor datasets of ``(numeric (F,), categorical (K,), target)`` samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .preprocessing import Preprocessor, SchemaError, as_category, as_number, infer_schema, sorted_labels
from .table import Table, load_table

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class TabularDataset(Dataset[Sample]):
    """Preprocessed rows as tensors.

    Args:
        numeric: ``(N, F)`` float32 standardised features.
        categorical: ``(N, K)`` int64 category indices.
        targets: ``(N,)`` int64 class indices or ``(N, T)`` float32 targets.
    """

    def __init__(self, numeric: torch.Tensor, categorical: torch.Tensor, targets: torch.Tensor) -> None:
        if not len(numeric) == len(categorical) == len(targets):
            raise ValueError("numeric, categorical and targets need the same number of rows")
        self.numeric, self.categorical, self.targets = numeric, categorical, targets

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.targets)

    def __getitem__(self, index: int) -> Sample:
        """One row.

        Args:
            index: Row index.

        Returns:
            ``(numeric (F,), categorical (K,), target () or (T,))``.
        """
        return self.numeric[index], self.categorical[index], self.targets[index]


@dataclass
class Prepared:
    """The datasets and the fitted preprocessing inference needs again.

    Attributes:
        splits: Train, validation and (when ``test_fraction > 0``) test rows.
        preprocessor: Statistics of the training rows.
        train_targets: The training rows' targets (class weights are computed from them).
    """

    splits: DataSplits
    preprocessor: Preprocessor
    train_targets: torch.Tensor


def split_indices(
    rows: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled train/validation/test row indices, stratified when labels are given.

    With labels, each class is shuffled and cut on its own, so every split keeps the
    class shares (up to rounding; a class of one row stays in train).

    Args:
        rows: Number of rows N.
        val_fraction: Share of rows for validation.
        test_fraction: Share of rows for test (0: no test split).
        seed: Seed of the shuffle.
        labels: ``(N,)`` class indices for a stratified split, or None.

    Returns:
        ``(train, val, test)`` sorted index arrays; together they are ``range(N)``.

    Raises:
        ValueError: If the training or validation split would be empty.
    """
    rng = np.random.default_rng(seed)
    groups = [np.arange(rows)] if labels is None else [
        np.flatnonzero(labels == label) for label in np.unique(labels)
    ]
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for group in groups:
        shuffled = rng.permutation(group)
        n_test = int(round(len(group) * test_fraction))
        n_val = int(round(len(group) * val_fraction))
        if n_test + n_val >= len(group):  # keep at least one row of the group for training
            n_test, n_val = 0, 0
        parts[2].append(shuffled[:n_test])
        parts[1].append(shuffled[n_test : n_test + n_val])
        parts[0].append(shuffled[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(part)).astype(np.int64) for part in parts)
    if len(train) == 0 or len(val) == 0:
        raise ValueError(
            f"{rows} rows give {len(train)} training and {len(val)} validation rows; "
            "add rows or change data.val_fraction / data.test_fraction"
        )
    return train, val, test


def class_labels(table: Table, data: DataConfig) -> list[str]:
    """The classes of the target column in index order.

    ``data.class_names`` when set, else the source's names (scikit-learn), else the
    sorted labels of every row (numerically when they are numbers).

    Args:
        table: Every row.
        data: The data config.

    Returns:
        The class labels.

    Raises:
        SchemaError: If their number differs from ``data.num_classes``.
    """
    found = sorted_labels(
        label
        for label in (as_category(c, data.missing_values) for c in table.columns[data.target[0]])
        if label is not None
    )
    classes = list(data.class_names or table.class_names or found)
    if len(classes) != data.num_classes:
        raise SchemaError(
            f"{table.origin}: the target column {data.target[0]!r} has {len(found)} classes "
            f"{found[:20]}, but data.num_classes={data.num_classes}; set "
            f"data.num_classes={len(found)} (the model follows)"
        )
    return classes


def _labelled_rows(table: Table, data: DataConfig) -> Table:
    """The rows whose every target cell is present."""
    keep = []
    for row in range(len(table)):
        cells = [table.columns[name][row] for name in data.target]
        if data.classification:
            present = all(as_category(cell, data.missing_values) is not None for cell in cells)
        else:
            present = all(not np.isnan(_safe_number(cell, data)) for cell in cells)
        if present:
            keep.append(row)
    return table if len(keep) == len(table) else table.take(keep)


def _safe_number(cell: object, data: DataConfig) -> float:
    try:
        return as_number(cell, data.missing_values)  # type: ignore[arg-type]
    except ValueError:
        return 0.0  # not missing: targets_of reports it with its row


def prepare(data: DataConfig) -> Prepared:
    """Load, split and preprocess the configured table.

    Args:
        data: The data config.

    Returns:
        The datasets and the preprocessor.

    Raises:
        FileNotFoundError: If the configured file is missing.
        SchemaError: If the columns do not fit the config.
        ValueError: If fewer than 3 rows have a target.
    """
    table = _labelled_rows(load_table(data), data)
    if len(table) < 3:
        raise ValueError(f"{table.origin} has {len(table)} labelled rows; at least 3 are needed")
    classes = class_labels(table, data) if data.classification else None
    labels = None
    if classes is not None and data.stratify:
        lookup = {label: index for index, label in enumerate(classes)}
        labels = np.array(
            [lookup.get(str(as_category(c, data.missing_values)), -1) for c in table.columns[data.target[0]]]
        )
    train_rows, val_rows, test_rows = split_indices(
        len(table), data.val_fraction, data.test_fraction, data.split_seed, labels
    )
    train = table.take(train_rows)
    if data.preprocessing is not None:
        preprocessor = Preprocessor.from_dict(data.preprocessing)
    else:
        preprocessor = Preprocessor.fit(train, infer_schema(train, data), data, classes)
    preprocessor.check_fits(data)

    def dataset(rows: np.ndarray) -> TabularDataset:
        part = table.take(rows)
        numeric, categorical = preprocessor.features(part)
        return TabularDataset(numeric, categorical, preprocessor.targets_of(part))

    splits = DataSplits(
        dataset(train_rows),
        dataset(val_rows),
        dataset(test_rows) if len(test_rows) else None,
    )
    train_targets = splits.train.targets  # type: ignore[attr-defined]
    return Prepared(splits, preprocessor, train_targets)
