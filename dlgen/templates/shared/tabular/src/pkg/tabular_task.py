"""What the tabular classification and regression tasks share: data, inputs and inference.

Batches are ``(numeric (B, F), categorical (B, K), targets)``; the model is called as
``model(numeric)``, or ``model(numeric, categorical)`` when the data has categorical
columns. The preprocessing fitted on the training split is written into the config
(``data.preprocessing``, and ``data.class_names`` for classification) before the first
checkpoint, so every checkpoint carries it and ``inference.py`` needs no training data.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from .data.config import DataConfig
from .data.datasets import Prepared, prepare
from .data.preprocessing import Preprocessor, Schema, SchemaError
from .data.table import Table, read_table, synthetic_table
from .prediction import InputError, Prediction, Scalar, expand_paths, one_line
from .trainers.task_contract import Batch, PreparedDataTask

# File name endings inference.py reads as tables (folders and globs keep only these).
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
# Rows of the synthetic table the example batches are cut from.
EXAMPLE_ROWS = 64


class TabularTask(PreparedDataTask[Prepared]):
    """Rows of numeric and categorical features to one output vector each.

    Args:
        cfg: The full config; reads ``data`` and fills in ``data.preprocessing``.
    """

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)

    def prepare_data(self) -> Prepared:
        """Load and split the table, fit the preprocessing on the training rows, store it.

        Returns:
            The datasets and the preprocessor.
        """
        prepared = prepare(self.data)
        state = prepared.preprocessor.to_dict()
        OmegaConf.update(self.cfg, "data.preprocessing", state, merge=False, force_add=True)
        classes = prepared.preprocessor.classes
        if classes is not None and self.data.class_names is None:
            OmegaConf.update(self.cfg, "data.class_names", list(classes), merge=False)
        return prepared

    def preprocessor(self) -> Preprocessor:
        """The fitted preprocessing: the config's stored one, else fitted on the data.

        Returns:
            The preprocessor.
        """
        if self._prepared is None and self.data.preprocessing is not None:
            return Preprocessor.from_dict(self.data.preprocessing)
        return self.prepared().preprocessor

    @property
    def has_categorical(self) -> bool:
        """Whether the rows have categorical columns (the model then takes two inputs)."""
        return len(self.data.categorical_cardinalities) > 0

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The model's inputs: the numeric features, and the category indices if any.

        Args:
            batch: ``(numeric (B, F), categorical (B, K), targets)``.

        Returns:
            ``(numeric,)`` or ``(numeric, categorical)``.
        """
        return (batch[0], batch[1]) if self.has_categorical else (batch[0],)

    def example_batch(self, batch_size: int) -> Batch:
        """Rows of a synthetic table of the configured columns, preprocessed.

        Args:
            batch_size: B.

        Returns:
            ``(numeric (B, F), categorical (B, K), targets)`` on the CPU.
        """
        table, preprocessor = self._synthetic_example(max(EXAMPLE_ROWS, batch_size))
        rows = table.take(range(batch_size))
        numeric, categorical = preprocessor.features(rows)
        return numeric, categorical, preprocessor.targets_of(rows)

    def _synthetic_example(self, rows: int) -> tuple[Table, Preprocessor]:
        """A synthetic table of the configured columns and a preprocessor fitted on it."""
        data = self.data
        table = synthetic_table(data, rows, data.split_seed)
        numeric = data.numeric_columns or [f"x{i}" for i in range(data.num_numeric)]
        categorical = data.categorical_columns or [
            f"c{i}" for i in range(len(data.categorical_cardinalities))
        ]
        classes = table.class_names if data.classification else None
        schema = Schema(tuple(numeric), tuple(categorical))
        return table, Preprocessor.fit(table, schema, data, classes)

    @abstractmethod
    def describe(
        self, outputs: torch.Tensor, preprocessor: Preprocessor, top_k: int | None
    ) -> list[tuple[str, dict[str, Scalar]]]:
        """Text and record fields of each row's model output.

        Args:
            outputs: ``(N, num_outputs)`` model outputs.
            preprocessor: The fitted preprocessing (classes, target scaling).
            top_k: Classes to list (classification).

        Returns:
            One ``(text, fields)`` per row.
        """

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Predict every row of CSV or Parquet files with the training preprocessing.

        Args:
            model: The trained model in eval mode.
            inputs: ``.csv``/``.parquet`` files with the feature columns (others, such as
                the target or an id, are ignored; ``data.ignore_columns`` are copied to
                the records), folders (every table inside, sorted) or glob patterns;
                empty: one synthetic row.
            top_k: Classes listed per row (classification).

        Returns:
            One prediction per row; its record holds ``input``, ``row`` (1-based), the
            ignored columns and the prediction.

        Raises:
            InputError: If a path is missing, a file is not a readable table, or it lacks
                a feature column or holds a non-numeric value in a numeric column.
        """
        device = next(model.parameters()).device
        if not inputs:
            batch = self.example_batch(1)
            outputs = model(*(t.to(device) for t in self.model_inputs(batch))).float().cpu()
            text, fields = self.describe(outputs, self._synthetic_example(EXAMPLE_ROWS)[1], top_k)[0]
            return [Prediction("synthetic[0]", f"synthetic[0]: {text}", [{"input": "synthetic[0]", **fields}])]
        preprocessor = self.preprocessor()
        results: list[Prediction] = []
        for path in expand_paths(inputs, TABLE_SUFFIXES, "table"):
            table = self._read(path)
            try:
                numeric, categorical = preprocessor.features(table)
            except (SchemaError, ValueError) as exc:
                raise InputError(one_line(exc)) from exc
            batch = (numeric.to(device), categorical.to(device))
            outputs = model(*batch[: 2 if self.has_categorical else 1]).float().cpu()
            for row, (text, fields) in enumerate(self.describe(outputs, preprocessor, top_k)):
                name = f"{path}:{row + 1}"
                record: dict[str, Scalar] = {"input": str(path), "row": row + 1}
                for column in self.data.ignore_columns:
                    if column in table.columns:
                        record[column] = _scalar(table.columns[column][row])
                record.update(fields)
                results.append(Prediction(name, f"{name}: {text}", [record]))
        return results

    @staticmethod
    def _read(path: Path) -> Table:
        try:
            return read_table(path)
        except (ValueError, OSError, UnicodeDecodeError, ImportError) as exc:
            raise InputError(f"{path}: {one_line(exc)}") from exc


def _scalar(cell: object) -> Scalar:
    return cell if cell is None or isinstance(cell, str | int | float) else str(cell)
