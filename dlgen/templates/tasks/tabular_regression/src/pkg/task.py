"""Tabular regression: numeric targets per row of numeric and categorical features.

Batches are ``(numeric (B, F), categorical (B, K), targets (B, T))`` with targets
standardised by the training split's mean and standard deviation; the model returns
``(B, T)`` in those units. Evaluation reports MSE (selects the best checkpoint) and MAE in
the targets' own units, and R².
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from .data.preprocessing import Preprocessor
from .metrics.tabular import error_sums, r2_score, r2_stats
from .prediction import Scalar
from .tabular_task import TabularTask
from .trainers.task_contract import Batch, MetricSums, MonitorMode, StepOutput


class TabularRegressionTask(TabularTask):
    """Rows to ``T`` values; validation MSE (in the targets' units) selects the model.

    Args:
        cfg: The full config; reads ``data``.
    """

    monitor = "mse"
    monitor_mode: MonitorMode = "min"

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.num_targets = self.data.num_targets
        self._scale: tuple[Tensor, Tensor] | None = None

    def decode(self, values: Tensor) -> Tensor:
        """Standardised values back in the targets' units.

        Args:
            values: ``(B, T)`` standardised values.

        Returns:
            ``(B, T)`` in the targets' units.
        """
        if self._scale is None:
            preprocessor = self.preprocessor()
            self._scale = (
                torch.tensor(preprocessor.target_mean, dtype=torch.float32),
                torch.tensor(preprocessor.target_std, dtype=torch.float32),
            )
        mean, std = (tensor.to(values.device) for tensor in self._scale)
        return values.float() * std + mean

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Mean squared error of one batch, in standardised units.

        Args:
            model: Maps the rows to ``(B, T)``.
            batch: ``(numeric, categorical, targets)`` on the model's device.

        Returns:
            The loss.
        """
        targets = batch[2]
        return StepOutput(F.mse_loss(model(*self.model_inputs(batch)).float(), targets))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed errors in the targets' units and the moments R² needs.

        Args:
            model: The model in eval mode.
            batch: ``(numeric, categorical, targets)`` on the model's device.

        Returns:
            ``loss`` (standardised MSE), ``mse`` and ``mae`` (targets' units) sums,
            ``r2_stats`` ``(4, T)`` and ``count``.
        """
        targets = batch[2]
        outputs = model(*self.model_inputs(batch)).float()
        return {
            "loss": F.mse_loss(outputs, targets, reduction="none").mean(dim=1).sum(),
            **error_sums(self.decode(outputs), self.decode(targets)),
            "r2_stats": r2_stats(outputs, targets),
            "count": torch.tensor(float(targets.shape[0]), device=outputs.device),
        }

    def finalize_sums(self, sums: dict[str, Tensor]) -> dict[str, float]:
        """R² of the whole split (averaged over the targets).

        Args:
            sums: ``r2_stats`` ``(4, T)`` summed over the split.

        Returns:
            ``r2``.
        """
        return {"r2": r2_score(sums["r2_stats"].cpu())}

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the predictions.

        Args:
            batch_size: B.

        Returns:
            ``(B, T)``.
        """
        return (batch_size, self.num_targets)

    def describe(
        self, outputs: Tensor, preprocessor: Preprocessor, top_k: int | None
    ) -> list[tuple[str, dict[str, Scalar]]]:
        """The predicted value of every target, per row, in the targets' units.

        Args:
            outputs: ``(N, T)`` standardised predictions.
            preprocessor: Holds the targets' scaling.
            top_k: Unused (no classes).

        Returns:
            Per row: ``"price=123.4"`` and the fields ``predicted_<target>``.
        """
        del top_k
        values = preprocessor.decode_targets(outputs)
        rows = []
        for row in values.tolist():
            pairs = list(zip(preprocessor.targets, row, strict=True))
            text = ", ".join(f"{name}={value:.4g}" for name, value in pairs)
            fields: dict[str, Scalar] = {f"predicted_{name}": float(v) for name, v in pairs}
            rows.append((text, fields))
        return rows


def build_task(cfg: DictConfig) -> TabularRegressionTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return TabularRegressionTask(cfg)
