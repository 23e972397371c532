"""The typed data config of a tabular task: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import section_kwargs

SOURCES = ("csv", "parquet", "sklearn", "synthetic")
SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "california_housing")
BALANCED = "balanced"
# Cells read as missing values in CSV files (case-sensitive, after stripping spaces).
DEFAULT_MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does.

    ``num_numeric`` and ``categorical_cardinalities`` are the model's input sizes; the
    columns found in the data must fit them (the error says what to set otherwise).
    ``preprocessing`` is filled in by training (statistics fitted on the training split)
    and stored with every checkpoint, so inference needs no training data.
    """

    name: str
    source: str
    target: tuple[str, ...]
    num_numeric: int
    root: str = "data"
    file: str = "data.csv"
    categorical_cardinalities: tuple[int, ...] = ()
    numeric_columns: tuple[str, ...] | None = None
    categorical_columns: tuple[str, ...] | None = None
    ignore_columns: tuple[str, ...] = ()
    categorical_max_unique: int = 10
    missing_values: tuple[str, ...] = DEFAULT_MISSING
    standardize: bool = True
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    class_weights: str | tuple[float, ...] | None = None
    stratify: bool = True
    num_targets: int = 1
    standardize_target: bool = True
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    split_seed: int = 0
    synthetic_rows: int = 1000
    synthetic_noise: float = 0.1
    preprocessing: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        if self.source == "sklearn" and self.name not in SKLEARN_DATASETS:
            raise ValueError(
                f"data.source=sklearn loads one of {list(SKLEARN_DATASETS)}, not {self.name!r}; "
                "use source csv or parquet for your own file"
            )
        if not self.target or any(not name for name in self.target):
            raise ValueError("data.target must name the target column (or a list of them)")
        if self.num_numeric < 0:
            raise ValueError(f"data.num_numeric={self.num_numeric} must be >= 0")
        if any(value < 2 for value in self.categorical_cardinalities):
            raise ValueError(
                "data.categorical_cardinalities holds the embedding rows of each categorical "
                "column (categories + 1 for missing/unseen), each >= 2; got "
                f"{list(self.categorical_cardinalities)}"
            )
        if self.num_numeric == 0 and not self.categorical_cardinalities:
            raise ValueError("data.num_numeric is 0 and there are no categorical columns")
        self._check_columns()
        self._check_labels()
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"data.{name}={getattr(self, name)} must be in [0, 1)")
        if not 0.0 < self.val_fraction + self.test_fraction < 1.0:
            raise ValueError(
                "data.val_fraction + data.test_fraction must be in (0, 1): a validation "
                "split is needed and the rest trains"
            )
        if self.synthetic_rows < 20:
            raise ValueError(f"data.synthetic_rows={self.synthetic_rows} must be >= 20")
        if self.synthetic_noise < 0:
            raise ValueError(f"data.synthetic_noise={self.synthetic_noise} must be >= 0")
        if self.categorical_max_unique < 0:
            raise ValueError("data.categorical_max_unique must be >= 0")

    def _check_columns(self) -> None:
        if self.numeric_columns is not None and len(self.numeric_columns) != self.num_numeric:
            raise ValueError(
                f"data.numeric_columns lists {len(self.numeric_columns)} columns but "
                f"data.num_numeric is {self.num_numeric}; make them agree"
            )
        categorical = self.categorical_columns
        if categorical is not None and len(categorical) != len(self.categorical_cardinalities):
            raise ValueError(
                f"data.categorical_columns lists {len(categorical)} columns but "
                f"data.categorical_cardinalities has {len(self.categorical_cardinalities)} "
                "entries (one per categorical column); make them agree"
            )
        named = [*(self.numeric_columns or ()), *(categorical or ()), *self.ignore_columns]
        clash = sorted({name for name in named if named.count(name) > 1} | set(self.target) & set(named))
        if clash:
            raise ValueError(
                f"column(s) {clash} appear twice among data.target, numeric_columns, "
                "categorical_columns and ignore_columns; each column has one role"
            )

    def _check_labels(self) -> None:
        if self.num_classes is not None:
            if len(self.target) != 1:
                raise ValueError(f"classification takes one data.target column, got {list(self.target)}")
            if self.num_classes < 2:
                raise ValueError(f"data.num_classes={self.num_classes} must be >= 2")
            if self.class_names is not None and len(self.class_names) != self.num_classes:
                raise ValueError(
                    f"data.class_names has {len(self.class_names)} names for "
                    f"{self.num_classes} classes"
                )
            weights = self.class_weights
            if isinstance(weights, str) and weights != BALANCED:
                raise ValueError(f"data.class_weights={weights!r}: use null, balanced or a list")
            if isinstance(weights, tuple) and (
                len(weights) != self.num_classes or min(weights) <= 0
            ):
                raise ValueError(
                    f"data.class_weights needs {self.num_classes} positive values, got "
                    f"{list(weights)}"
                )
        elif self.num_targets != len(self.target):
            raise ValueError(
                f"data.num_targets={self.num_targets} but data.target names {len(self.target)} "
                f"column(s) {list(self.target)}; make them agree"
            )

    @property
    def classification(self) -> bool:
        """Whether the target is a class label (``num_classes`` set), else regression."""
        return self.num_classes is not None

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
        target = kwargs.get("target")
        kwargs["target"] = (str(target),) if isinstance(target, str | int) else _strings(target)
        for name in ("numeric_columns", "categorical_columns", "class_names"):
            if kwargs.get(name) is not None:
                kwargs[name] = _strings(kwargs[name])
        for name in ("ignore_columns", "missing_values"):
            if name in kwargs:
                kwargs[name] = _strings(kwargs[name] or ())
        if "categorical_cardinalities" in kwargs:
            kwargs["categorical_cardinalities"] = tuple(
                int(value) for value in kwargs["categorical_cardinalities"] or ()
            )
        weights = kwargs.get("class_weights")
        if weights is not None and not isinstance(weights, str):
            kwargs["class_weights"] = tuple(float(value) for value in weights)
        if kwargs.get("preprocessing") is not None:
            kwargs["preprocessing"] = _plain(kwargs["preprocessing"])
        return cls(**kwargs)


def _strings(values: Iterable[object] | None) -> tuple[str, ...]:
    return tuple(str(value) for value in (values or ()))


def _plain(value: object) -> object:
    """A config subtree (DictConfig/ListConfig or plain) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(item) for item in value]
    return value
