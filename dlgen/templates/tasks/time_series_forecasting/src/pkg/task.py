"""Time-series forecasting: a window of past steps to the next ``horizon`` steps.

Batches are ``(inputs (B, L, F), targets (B, H, F))`` in standardised units; the model is
called as ``model(inputs)`` and must return ``(B, H, F)``. Besides the model's errors, the
evaluation reports the naive last-value forecast's MSE on the same windows: a model that
does not beat it has learned nothing useful.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from .data.config import DataConfig
from .data.datasets import Prepared, prepare
from .data.series import (
    Normalizer,
    SlidingWindows,
    naive_forecast,
    read_csv_series,
    synthetic_series,
)
from .metrics.forecasting import absolute_error, squared_error
from .prediction import InputError, Prediction, Scalar, expand_paths, one_line
from .trainers.task_contract import Batch, MetricSums, MonitorMode, PreparedDataTask, StepOutput

# Windows of the synthetic series used for example batches.
_EXAMPLE_STEPS = 2000
# File name endings ``inference.py`` reads as series (folders and globs keep only these).
SERIES_SUFFIXES = (".csv",)


class ForecastingTask(PreparedDataTask[Prepared]):
    """Windows ``(B, L, F)`` to forecasts ``(B, H, F)``; validation MSE selects the model.

    Args:
        cfg: The full config; reads ``data``.
    """

    monitor = "mse"
    monitor_mode: MonitorMode = "min"

    def __init__(self, cfg: DictConfig) -> None:
        self.data = DataConfig.from_mapping(cfg.data)

    def prepare_data(self) -> Prepared:
        """Load the series, split it in time, fit the normaliser on train and cut windows.

        Returns:
            The chronological window datasets with their normaliser.
        """
        return prepare(self.data)

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Mean squared error of one batch (standardised units).

        Args:
            model: Maps ``(B, L, F)`` to ``(B, H, F)``.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            The loss.
        """
        inputs, targets = batch[0], batch[1]
        return StepOutput(F.mse_loss(model(inputs).float(), targets))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed per-sample errors of the model and of the last-value baseline.

        Args:
            model: The model in eval mode.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            ``loss`` and ``mse``, ``mae``, ``naive_mse``, ``naive_mae`` sums and ``count``.
        """
        inputs, targets = batch[0], batch[1]
        prediction = model(inputs).float()
        naive = naive_forecast(inputs, self.data.horizon)
        mse = squared_error(prediction, targets).sum()
        return {
            "loss": mse,
            "mse": mse,
            "mae": absolute_error(prediction, targets).sum(),
            "naive_mse": squared_error(naive, targets).sum(),
            "naive_mae": absolute_error(naive, targets).sum(),
            "count": torch.tensor(float(inputs.shape[0]), device=prediction.device),
        }

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Add the MSE relative to the naive baseline (below 1 beats it).

        Args:
            metrics: Averages of :meth:`evaluation_step`'s sums.

        Returns:
            The metrics with ``mse_vs_naive``.
        """
        naive = metrics.get("naive_mse", 0.0)
        if naive > 0:
            metrics["mse_vs_naive"] = metrics.get("mse", 0.0) / naive
        return metrics

    def example_batch(self, batch_size: int) -> Batch:
        """Windows of a synthetic series of the configured shapes.

        Args:
            batch_size: B.

        Returns:
            ``(inputs (B, L, F), targets (B, H, F))`` on the CPU, standardised.
        """
        data = self.data
        steps = max(_EXAMPLE_STEPS, data.input_length + data.horizon + batch_size)
        series = synthetic_series(steps, data.num_features, data.split_seed, data.synthetic_noise)
        scaled = Normalizer.fit(series).transform(series)
        windows = SlidingWindows(scaled, data.input_length, data.horizon)
        stride = max(1, len(windows) // batch_size)
        samples = [windows[index * stride] for index in range(batch_size)]
        return torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples])

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the forecasts.

        Args:
            batch_size: B.

        Returns:
            ``(B, horizon, num_features)``.
        """
        return (batch_size, self.data.horizon, self.data.num_features)

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Forecast the ``horizon`` steps after the last ``input_length`` rows of CSV files.

        Args:
            model: The trained model in eval mode.
            inputs: CSV files with the training columns (a header, one row per step in time
                order), folders (every ``.csv`` inside, sorted) or glob patterns; empty:
                the first test window.
            top_k: Unused (forecasts have no classes).

        Returns:
            One prediction per input; its text has one line per forecast step in original
            units and its records one row per step (``input``, ``step``, one column per
            feature).

        Raises:
            InputError: If a path is missing, a folder holds no CSV file, or a file lacks
                the columns or the rows a forecast needs.
        """
        del top_k
        prepared = self.prepared()
        device = next(model.parameters()).device
        names, windows = self._predict_windows(list(inputs), prepared)
        forecasts = prepared.normalizer.inverse(model(windows.to(device)).float().cpu())
        columns = list(prepared.columns)
        results = []
        for name, forecast in zip(names, forecasts, strict=True):
            lines = [f"{name}: next {self.data.horizon} steps of {', '.join(columns)}"]
            records: list[dict[str, Scalar]] = []
            for step, row in enumerate(forecast.tolist(), start=1):
                lines.append(f"  t+{step}: " + " ".join(f"{value:.4f}" for value in row))
                record: dict[str, Scalar] = {"input": name, "step": step}
                record.update({column: float(v) for column, v in zip(columns, row, strict=True)})
                records.append(record)
            results.append(Prediction(name, "\n".join(lines), records))
        return results

    def _predict_windows(
        self, inputs: list[str], prepared: Prepared
    ) -> tuple[list[str], torch.Tensor]:
        if not inputs:
            test = prepared.splits.test or prepared.splits.val
            return ["test[0]"], test[0][0].unsqueeze(0)
        windows = []
        paths = expand_paths(inputs, SERIES_SUFFIXES, "series")
        for path in paths:
            try:
                values, _ = read_csv_series(path, list(prepared.columns))
            except (ValueError, KeyError, OSError) as exc:
                raise InputError(one_line(exc)) from exc
            if len(values) < self.data.input_length:
                raise InputError(
                    f"{path} has {len(values)} rows; a forecast needs the last "
                    f"{self.data.input_length} steps of {', '.join(prepared.columns)}"
                )
            recent = values[-self.data.input_length :]
            windows.append(torch.from_numpy(prepared.normalizer.transform(recent)))
        return [str(path) for path in paths], torch.stack(windows).to(torch.float32)


def build_task(cfg: DictConfig) -> ForecastingTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return ForecastingTask(cfg)
