"""Column types and preprocessing fitted on the training split only.

:func:`infer_schema` splits the feature columns into numeric and categorical ones: the
config's ``numeric_columns``/``categorical_columns`` when given, else by their cells: a
column whose cells do not all parse as numbers is categorical, and so is an integer
column with at most ``categorical_max_unique`` distinct values (codes such as 0/1 or
1-5). :class:`Preprocessor` then learns, from the training rows alone, each numeric
column's median (imputing missing cells) and mean and standard deviation
(standardisation), each categorical column's categories (index 0 stands for a missing or
unseen value), and the regression targets' mean and standard deviation. Its state is a
plain mapping (``to_dict``), stored in the config of every checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import DataConfig
from .table import Cell, Table


class SchemaError(ValueError):
    """The data's columns do not fit the config; the message says what to set."""


@dataclass(frozen=True)
class Schema:
    """The feature columns by type, in the order the model receives them.

    Attributes:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]


def as_number(cell: Cell, missing: Sequence[str]) -> float:
    """A cell as a float; NaN when it is missing.

    Args:
        cell: A raw cell.
        missing: Strings that mean "missing".

    Returns:
        The value.

    Raises:
        ValueError: If the cell is text that is not a number.
    """
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        raise ValueError(f"{cell!r} is a boolean, not a number")
    if isinstance(cell, int | float):
        return float(cell)
    text = str(cell).strip()
    return math.nan if text in missing else float(text)


def as_category(cell: Cell, missing: Sequence[str]) -> str | None:
    """A cell as a category label; None when it is missing.

    Integral numbers read the same whatever the source (``3``, ``3.0`` and ``"3"`` are
    the label ``"3"``).

    Args:
        cell: A raw cell.
        missing: Strings that mean "missing".

    Returns:
        The label, or None.
    """
    if cell is None:
        return None
    if isinstance(cell, float):
        if math.isnan(cell):
            return None
        return str(int(cell)) if cell.is_integer() else repr(cell)
    text = str(cell).strip()
    if text in missing:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else text


def sorted_labels(labels: Iterable[str]) -> list[str]:
    """Distinct labels, numerically when every one is a number, else alphabetically.

    Args:
        labels: Labels (repeats allowed).

    Returns:
        The sorted distinct labels.
    """
    distinct = set(labels)
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return sorted(distinct)


def _numeric_cells(cells: Sequence[Cell], missing: Sequence[str]) -> list[float] | None:
    values = []
    for cell in cells:
        try:
            values.append(as_number(cell, missing))
        except ValueError:
            return None
    return values


def _column_type(cells: Sequence[Cell], data: DataConfig) -> str:
    values = _numeric_cells(cells, data.missing_values)
    if values is None:
        return "categorical"
    present = [value for value in values if not math.isnan(value)]
    integral = all(value.is_integer() for value in present)
    if present and integral and len(set(present)) <= data.categorical_max_unique:
        return "categorical"
    return "numeric"


def infer_schema(table: Table, data: DataConfig) -> Schema:
    """The numeric and categorical feature columns of a table.

    Args:
        table: The raw table (every row, or the training rows).
        data: The data config (targets, overrides, ``ignore_columns``).

    Returns:
        The schema.

    Raises:
        SchemaError: If a named column is missing or the counts differ from the config's
            ``num_numeric`` / ``categorical_cardinalities``.
    """
    available = list(table.columns)
    named = [*data.target, *data.ignore_columns]
    named += [*(data.numeric_columns or ()), *(data.categorical_columns or ())]
    absent = [name for name in named if name not in table.columns]
    if absent:
        raise SchemaError(
            f"{table.origin} has no column(s) {absent}; its columns are {available}. Set "
            "data.target (and numeric_columns, categorical_columns, ignore_columns) to them"
        )
    features = [c for c in available if c not in data.target and c not in data.ignore_columns]
    numeric_names, categorical_names = data.numeric_columns, data.categorical_columns
    if numeric_names is not None and categorical_names is None:
        categorical_names = tuple(c for c in features if c not in numeric_names)
    elif categorical_names is not None and numeric_names is None:
        numeric_names = tuple(c for c in features if c not in categorical_names)
    elif numeric_names is None or categorical_names is None:
        types = {name: _column_type(table.columns[name], data) for name in features}
        numeric_names = tuple(c for c in features if types[c] == "numeric")
        categorical_names = tuple(c for c in features if types[c] == "categorical")
    schema = Schema(tuple(numeric_names), tuple(categorical_names or ()))
    _check_counts(schema, table, data)
    return schema


def _check_counts(schema: Schema, table: Table, data: DataConfig) -> None:
    expected_k = len(data.categorical_cardinalities)
    if len(schema.numeric) == data.num_numeric and len(schema.categorical) == expected_k:
        return
    needed = [
        len({as_category(c, data.missing_values) for c in table.columns[name]} - {None}) + 1
        for name in schema.categorical
    ]
    raise SchemaError(
        f"{table.origin}: the features are {len(schema.numeric)} numeric column(s) "
        f"{list(schema.numeric)} and {len(schema.categorical)} categorical column(s) "
        f"{list(schema.categorical)}, but the config expects data.num_numeric="
        f"{data.num_numeric} and {expected_k} categorical column(s). Set "
        f"data.num_numeric={len(schema.numeric)} 'data.categorical_cardinalities={needed}' "
        "(the model follows), or list the columns in data.numeric_columns, "
        "data.categorical_columns and data.ignore_columns"
    )


@dataclass
class Preprocessor:
    """Imputation, standardisation and category indices learnt from the training rows.

    Attributes:
        numeric: Numeric feature columns.
        median: Per numeric column, the training median (fills missing cells).
        mean: Per numeric column, the training mean after imputation (0 when not
            standardising).
        std: Per numeric column, the training standard deviation (1 when constant or not
            standardising).
        categorical: Categorical feature columns.
        categories: Per categorical column, its training categories; category ``i`` has
            index ``i + 1`` and index 0 is a missing or unseen value.
        targets: Target columns.
        classes: Class labels in index order (classification), else None.
        target_mean: Per regression target, the training mean (0 when not standardising).
        target_std: Per regression target, the training standard deviation.
        missing_values: Strings read as missing.
    """

    numeric: list[str]
    median: list[float]
    mean: list[float]
    std: list[float]
    categorical: list[str]
    categories: list[list[str]]
    targets: list[str]
    classes: list[str] | None = None
    target_mean: list[float] = field(default_factory=list)
    target_std: list[float] = field(default_factory=list)
    missing_values: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls, train: Table, schema: Schema, data: DataConfig, classes: list[str] | None
    ) -> Preprocessor:
        """Learn the statistics from the training rows only.

        Args:
            train: The training rows.
            schema: The feature columns by type.
            data: The data config (``standardize``, ``standardize_target``, targets).
            classes: The class labels in index order (classification), else None.

        Returns:
            The fitted preprocessor.
        """
        missing = list(data.missing_values)
        median, mean, std = [], [], []
        for name in schema.numeric:
            values = np.array([as_number(c, missing) for c in train.columns[name]], np.float64)
            present = values[~np.isnan(values)]
            centre = float(np.median(present)) if present.size else 0.0
            filled = np.where(np.isnan(values), centre, values)
            spread = float(filled.std()) if data.standardize else 1.0
            median.append(centre)
            mean.append(float(filled.mean()) if data.standardize else 0.0)
            std.append(spread if spread > 1e-12 else 1.0)
        categories = [
            sorted_labels(
                label
                for label in (as_category(c, missing) for c in train.columns[name])
                if label is not None
            )
            for name in schema.categorical
        ]
        target_mean, target_std = [], []
        if classes is None:
            for name in data.target:
                values = np.array([as_number(c, missing) for c in train.columns[name]])
                spread = float(values.std()) if data.standardize_target else 1.0
                target_mean.append(float(values.mean()) if data.standardize_target else 0.0)
                target_std.append(spread if spread > 1e-12 else 1.0)
        return cls(
            list(schema.numeric),
            median,
            mean,
            std,
            list(schema.categorical),
            categories,
            list(data.target),
            classes,
            target_mean,
            target_std,
            missing,
        )

    @property
    def cardinalities(self) -> list[int]:
        """Embedding rows each categorical column needs (categories + 1)."""
        return [len(values) + 1 for values in self.categories]

    def check_fits(self, data: DataConfig) -> None:
        """Check that the learnt categories fit the configured embedding tables.

        Args:
            data: The data config (``categorical_cardinalities``).

        Raises:
            SchemaError: If the column counts differ or a column has more categories than
                embedding rows.
        """
        configured = list(data.categorical_cardinalities)
        needed = self.cardinalities
        if len(self.numeric) != data.num_numeric or len(needed) != len(configured):
            raise SchemaError(
                f"the preprocessing has {len(self.numeric)} numeric and {len(needed)} "
                f"categorical column(s), but data.num_numeric={data.num_numeric} and "
                f"data.categorical_cardinalities={configured}; set data.preprocessing=null "
                "to fit it again"
            )
        if any(n > c for n, c in zip(needed, configured, strict=True)):
            raise SchemaError(
                f"the categorical columns {self.categorical} need {needed} embedding rows "
                f"(categories + 1 for missing/unseen) but data.categorical_cardinalities is "
                f"{configured}; set 'data.categorical_cardinalities={needed}' (the model follows)"
            )

    def features(self, table: Table) -> tuple[torch.Tensor, torch.Tensor]:
        """Model inputs of every row of a table.

        Args:
            table: Rows with (at least) the feature columns.

        Returns:
            ``numeric (N, F)`` float32, standardised, and ``categorical (N, K)`` int64
            category indices (0: missing or unseen).

        Raises:
            SchemaError: If a feature column is missing.
            ValueError: If a numeric cell is not a number (the column and row named).
        """
        absent = [name for name in (*self.numeric, *self.categorical) if name not in table.columns]
        if absent:
            raise SchemaError(
                f"{table.origin} lacks the feature column(s) {absent}; the model takes "
                f"{[*self.numeric, *self.categorical]}"
            )
        rows = len(table)
        numeric = np.zeros((rows, len(self.numeric)), np.float32)
        for index, name in enumerate(self.numeric):
            values = np.array(
                [_number_at(table, name, row, self.missing_values) for row in range(rows)]
            )
            values = np.where(np.isnan(values), self.median[index], values)
            numeric[:, index] = (values - self.mean[index]) / self.std[index]
        categorical = np.zeros((rows, len(self.categorical)), np.int64)
        for index, name in enumerate(self.categorical):
            lookup = {label: i + 1 for i, label in enumerate(self.categories[index])}
            labels = (as_category(cell, self.missing_values) for cell in table.columns[name])
            categorical[:, index] = [0 if label is None else lookup.get(label, 0) for label in labels]
        return torch.from_numpy(numeric), torch.from_numpy(categorical)

    def targets_of(self, table: Table) -> torch.Tensor:
        """Training targets of every row.

        Args:
            table: Rows with the target column(s), none missing.

        Returns:
            ``(N,)`` int64 class indices, or ``(N, T)`` float32 standardised values.

        Raises:
            ValueError: If a label is not one of the classes or a value is not a number.
        """
        if self.classes is not None:
            lookup = {label: index for index, label in enumerate(self.classes)}
            labels = [as_category(c, self.missing_values) for c in table.columns[self.targets[0]]]
            unknown = sorted({str(label) for label in labels if label not in lookup})
            if unknown:
                raise ValueError(
                    f"{table.origin}: target label(s) {unknown[:5]} are not among the classes "
                    f"{self.classes}"
                )
            return torch.tensor([lookup[str(label)] for label in labels], dtype=torch.long)
        columns = []
        for index, name in enumerate(self.targets):
            values = np.array(
                [_number_at(table, name, row, self.missing_values) for row in range(len(table))]
            )
            columns.append((values - self.target_mean[index]) / self.target_std[index])
        return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))

    def decode_targets(self, values: torch.Tensor) -> torch.Tensor:
        """Standardised regression outputs back in the targets' units.

        Args:
            values: ``(N, T)`` model outputs.

        Returns:
            ``(N, T)`` values in the original units.
        """
        mean = torch.tensor(self.target_mean, dtype=values.dtype, device=values.device)
        std = torch.tensor(self.target_std, dtype=values.dtype, device=values.device)
        return values * std + mean

    def to_dict(self) -> dict[str, Any]:
        """The state as plain values.

        Returns:
            A mapping of lists, strings and floats (stored as ``data.preprocessing``).
        """
        return {
            "numeric": {"columns": self.numeric, "median": self.median, "mean": self.mean,
                        "std": self.std},
            "categorical": {"columns": self.categorical, "categories": self.categories},
            "targets": {"columns": self.targets, "classes": self.classes,
                        "mean": self.target_mean, "std": self.target_std},
            "missing_values": self.missing_values,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor:
        """Rebuild from :meth:`to_dict`'s mapping.

        Args:
            state: The mapping (e.g. ``data.preprocessing`` of a checkpoint's config).

        Returns:
            The preprocessor.

        Raises:
            ValueError: If a key is missing.
        """
        try:
            numeric, categorical, targets = state["numeric"], state["categorical"], state["targets"]
            classes = targets["classes"]
            return cls(
                [str(c) for c in numeric["columns"]],
                [float(v) for v in numeric["median"]],
                [float(v) for v in numeric["mean"]],
                [float(v) for v in numeric["std"]],
                [str(c) for c in categorical["columns"]],
                [[str(v) for v in values] for values in categorical["categories"]],
                [str(c) for c in targets["columns"]],
                None if classes is None else [str(c) for c in classes],
                [float(v) for v in targets["mean"]],
                [float(v) for v in targets["std"]],
                [str(v) for v in state["missing_values"]],
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"data.preprocessing is incomplete or malformed: {exc}") from exc


def _number_at(table: Table, name: str, row: int, missing: Sequence[str]) -> float:
    cell = table.columns[name][row]
    try:
        return as_number(cell, missing)
    except ValueError:
        raise ValueError(
            f"{table.origin}: column {name!r}, row {row + 1}: {cell!r} is not a number "
            f"(missing values are written as one of {list(missing)})"
        ) from None
