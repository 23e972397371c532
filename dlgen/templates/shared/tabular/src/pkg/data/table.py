"""Raw tables: a CSV or Parquet file, a scikit-learn dataset, or a synthetic generator.

A :class:`Table` holds its cells as read (strings from CSV, numbers or strings from the
other sources), column by column; :mod:`.preprocessing` decides the column types and
turns cells into model inputs.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import DataConfig

Cell = str | float | int | None
# scikit-learn loaders and the names of their feature-free target columns.
_SKLEARN_LOADERS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "diabetes": "load_diabetes",
    "california_housing": "fetch_california_housing",
}
# Share of synthetic cells left empty, so that imputation is exercised.
SYNTHETIC_MISSING = 0.02


@dataclass
class Table:
    """Columns of raw cells, all of the same length.

    Attributes:
        columns: Column name -> its cells (``None``, or a string in ``missing_values``,
            is a missing cell).
        class_names: The target's classes in the source's order, when the source knows
            them (scikit-learn's ``target_names``); None: sorted labels.
    """

    columns: dict[str, list[Cell]]
    class_names: list[str] | None = None
    origin: str = "table"
    _rows: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        """Check that every column has the same length.

        Raises:
            ValueError: If the lengths differ or there is no column.
        """
        lengths = {name: len(cells) for name, cells in self.columns.items()}
        if not lengths:
            raise ValueError(f"{self.origin} has no columns")
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{self.origin}: columns of different lengths {lengths}")
        self._rows = next(iter(lengths.values()))

    def __len__(self) -> int:
        """Number of rows."""
        return self._rows

    def take(self, rows: Sequence[int] | np.ndarray) -> Table:
        """The table of these rows.

        Args:
            rows: Row indices.

        Returns:
            A new table (same columns and class names).
        """
        picked = {name: [cells[int(i)] for i in rows] for name, cells in self.columns.items()}
        return Table(picked, self.class_names, self.origin)


def read_csv(path: Path) -> Table:
    """Read a CSV file with a header row; every cell stays a string.

    Args:
        path: The file.

    Returns:
        The table.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it has no header, no rows, or a row of another width.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty; it needs a header row naming the columns")
        names = [name.strip() for name in header]
        if len(set(names)) != len(names):
            raise ValueError(f"{path}: the header names a column twice: {names}")
        columns: dict[str, list[Cell]] = {name: [] for name in names}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(names):
                raise ValueError(
                    f"{path} line {line}: {len(row)} cells, the header has {len(names)}"
                )
            for name, cell in zip(names, row, strict=True):
                columns[name].append(cell.strip())
    if not columns[names[0]]:
        raise ValueError(f"{path} has a header but no rows")
    return Table(columns, origin=str(path))


def read_parquet(path: Path) -> Table:
    """Read a Parquet file (needs pyarrow: ``pip install -e '.[parquet]'``).

    Args:
        path: The file.

    Returns:
        The table; nulls become None.

    Raises:
        FileNotFoundError: If the file does not exist.
        ImportError: If pyarrow is not installed.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(
            "reading Parquet needs pyarrow: pip install -e '.[parquet]' (or pip install pyarrow)"
        ) from exc
    data: dict[str, list[Any]] = pq.read_table(path).to_pydict()
    return Table({str(name): list(cells) for name, cells in data.items()}, origin=str(path))


def read_table(path: Path) -> Table:
    """Read a ``.csv`` or ``.parquet`` file by its suffix.

    Args:
        path: The file.

    Returns:
        The table.

    Raises:
        ValueError: If the suffix is neither.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    raise ValueError(f"{path}: expected a .csv or .parquet file")


def sklearn_table(data: DataConfig) -> Table:
    """One of scikit-learn's datasets as a table.

    Every one is bundled offline but California housing, which scikit-learn downloads once
    into ``~/scikit_learn_data``.

    Args:
        data: The data config (``name`` picks the dataset; ``target`` names its target
            column).

    Returns:
        The feature columns under scikit-learn's names and the target column.
    """
    from sklearn import datasets

    loader = getattr(datasets, _SKLEARN_LOADERS[data.name])
    bunch = loader()
    names = [str(name) for name in bunch.feature_names]
    features = np.asarray(bunch.data, dtype=np.float64)
    columns: dict[str, list[Cell]] = {
        name: features[:, index].tolist() for index, name in enumerate(names)
    }
    class_names = None
    target = data.target[0]
    if data.classification:
        class_names = [str(name) for name in bunch.target_names]
        columns[target] = [class_names[int(label)] for label in bunch.target]
    else:
        columns[target] = np.asarray(bunch.target, dtype=np.float64).tolist()
    return Table(columns, class_names, origin=f"scikit-learn {data.name}")


def synthetic_table(data: DataConfig, rows: int | None = None, seed: int | None = None) -> Table:
    """A learnable synthetic table of the configured shapes, generated offline.

    Numeric features are standard normal (``x0, x1, ...`` or ``data.numeric_columns``),
    categorical ones uniform over ``cardinality - 1`` labels (``c0, ...``), with 2% of the
    cells missing. Targets are noisy functions of both: the arg-max of random linear
    scores (classification) or a linear plus sine term (regression).

    Args:
        data: The data config.
        rows: Number of rows (default ``data.synthetic_rows``).
        seed: Generator seed (default ``data.split_seed``).

    Returns:
        The table, with the target column(s) named by ``data.target``.
    """
    rows = rows or data.synthetic_rows
    rng = np.random.default_rng(data.split_seed if seed is None else seed)
    numeric_names = list(data.numeric_columns or [f"x{i}" for i in range(data.num_numeric)])
    categorical_names = list(
        data.categorical_columns
        or [f"c{i}" for i in range(len(data.categorical_cardinalities))]
    )
    outputs = data.num_classes or data.num_targets
    numeric = rng.standard_normal((rows, data.num_numeric))
    score = numeric @ rng.standard_normal((data.num_numeric, outputs))  # (N, outputs)
    columns: dict[str, list[Cell]] = {}
    for index, name in enumerate(numeric_names):
        columns[name] = [float(value) for value in numeric[:, index]]
    for name, cardinality in zip(categorical_names, data.categorical_cardinalities, strict=True):
        labels = rng.integers(0, cardinality - 1, rows)
        effect = rng.standard_normal((cardinality - 1, outputs))
        score += effect[labels]
        columns[name] = [f"{name}_{int(label)}" for label in labels]
    for name in (*numeric_names, *categorical_names):
        for row in np.flatnonzero(rng.random(rows) < SYNTHETIC_MISSING):
            columns[name][int(row)] = None
    score += data.synthetic_noise * rng.standard_normal(score.shape)
    if data.classification:
        names = list(data.class_names or [f"class_{k}" for k in range(outputs)])
        columns[data.target[0]] = [names[int(k)] for k in score.argmax(axis=1)]
        return Table(columns, names, origin="synthetic table")
    if data.num_numeric:
        score += np.sin(2.0 * numeric[:, :1])
    for index, name in enumerate(data.target):
        columns[name] = [float(value) for value in score[:, index]]
    return Table(columns, origin="synthetic table")


def load_table(data: DataConfig) -> Table:
    """The raw table of ``data.source``.

    Args:
        data: The data config.

    Returns:
        The table.

    Raises:
        FileNotFoundError: If the configured file does not exist.
    """
    if data.source == "synthetic":
        return synthetic_table(data)
    if data.source == "sklearn":
        return sklearn_table(data)
    path = Path(data.root) / data.file
    return read_parquet(path) if data.source == "parquet" else read_csv(path)
