"""Tabular classification: one class per row of numeric and categorical features.

Batches are ``(numeric (B, F), categorical (B, K), labels (B,))``; the model returns
``(B, num_classes)`` logits. Evaluation reports accuracy (selects the best checkpoint),
macro-F1 and, for two classes, ROC-AUC, all from sums over the whole split.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from .data.config import BALANCED
from .data.preprocessing import Preprocessor
from .metrics.tabular import (
    auc_histogram,
    binary_log_odds,
    binned_roc_auc,
    classification_scores,
    confusion_matrix,
)
from .prediction import Scalar
from .tabular_task import TabularTask
from .trainers.task_contract import Batch, MetricSums, MonitorMode, StepOutput, class_zero_cross_entropy

# Classes named in the printed text of one prediction when --top-k is not given.
DEFAULT_TOP_K = 3


class TabularClassificationTask(TabularTask):
    """Rows to class logits; validation accuracy selects the model.

    Args:
        cfg: The full config; reads ``data`` and ``training.label_smoothing``.

    Raises:
        ValueError: If ``data.num_classes`` is not set.
    """

    monitor = "accuracy"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        if self.data.num_classes is None:
            raise ValueError("tabular classification needs data.num_classes")
        self.num_classes = self.data.num_classes
        self.label_smoothing = float(cfg.training.get("label_smoothing", 0.0))
        self._weights: Tensor | None = None

    def class_weights(self) -> Tensor | None:
        """Per-class loss weights: the configured list, ``balanced``, or None.

        ``balanced`` is scikit-learn's ``n / (K * count_k)`` over the training rows.

        Returns:
            ``(K,)`` weights, or None for an unweighted loss.
        """
        setting = self.data.class_weights
        if setting is None:
            return None
        if self._weights is None:
            if setting == BALANCED:
                labels = self.prepared().train_targets
                counts = torch.bincount(labels, minlength=self.num_classes).float()
                self._weights = len(labels) / (self.num_classes * counts.clamp(min=1))
            else:
                self._weights = torch.tensor(setting, dtype=torch.float32)
        return self._weights

    def _loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        weights = self.class_weights()
        return F.cross_entropy(
            logits.float(),
            labels,
            weight=None if weights is None else weights.to(logits.device),
            label_smoothing=self.label_smoothing,
        )

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Cross-entropy of one batch (class weights and label smoothing as configured).

        Args:
            model: Maps the rows to ``(B, num_classes)`` logits.
            batch: ``(numeric, categorical, labels)`` on the model's device.

        Returns:
            The loss and the batch accuracy.
        """
        labels = batch[2]
        logits = model(*self.model_inputs(batch))
        accuracy = (logits.detach().argmax(dim=1) == labels).float().mean()
        return StepOutput(self._loss(logits, labels), {"accuracy": accuracy})

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss, the confusion matrix and (two classes) the ROC histograms.

        Args:
            model: The model in eval mode.
            batch: ``(numeric, categorical, labels)`` on the model's device.

        Returns:
            ``loss`` (unweighted cross-entropy, summed), ``confusion`` ``(K, K)``,
            ``auc_histogram`` ``(2, bins)`` for binary tasks and ``count``.
        """
        labels = batch[2]
        logits = model(*self.model_inputs(batch)).float()
        sums: MetricSums = {
            "loss": F.cross_entropy(logits, labels, reduction="sum"),
            "confusion": confusion_matrix(logits.argmax(dim=1), labels, self.num_classes),
            "count": torch.tensor(float(labels.shape[0]), device=logits.device),
        }
        if self.num_classes == 2:
            sums["auc_histogram"] = auc_histogram(binary_log_odds(logits), labels)
        return sums

    def finalize_sums(self, sums: dict[str, Tensor]) -> dict[str, float]:
        """Accuracy, macro-F1 and (two classes) ROC-AUC of the whole split.

        Args:
            sums: ``confusion`` ``(K, K)`` and, binary, ``auc_histogram`` ``(2, bins)``.

        Returns:
            ``accuracy``, ``macro_f1`` and ``roc_auc`` (binary).
        """
        metrics = classification_scores(sums["confusion"].cpu())
        if "auc_histogram" in sums:
            metrics["roc_auc"] = binned_roc_auc(sums["auc_histogram"].cpu())
        return metrics

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits.

        Args:
            batch_size: B.

        Returns:
            ``(B, num_classes)``.
        """
        return (batch_size, self.num_classes)

    def smoke_loss(self, output: Tensor) -> Tensor:
        """Cross-entropy against class 0 (its gradient never vanishes).

        Args:
            output: ``(B, num_classes)`` logits.

        Returns:
            A scalar loss.
        """
        return class_zero_cross_entropy(output)

    def describe(
        self, outputs: Tensor, preprocessor: Preprocessor, top_k: int | None
    ) -> list[tuple[str, dict[str, Scalar]]]:
        """The predicted class and every class's probability, per row.

        Args:
            outputs: ``(N, num_classes)`` logits.
            preprocessor: Holds the class labels.
            top_k: Classes listed in the text (default 3).

        Returns:
            Per row: ``"<class> 0.912, <class> 0.051"`` and the fields
            ``predicted_<target>`` and ``probability_<class>`` for every class.
        """
        classes = preprocessor.classes or [str(k) for k in range(self.num_classes)]
        target = self.data.target[0]
        probabilities = outputs.softmax(dim=1)  # (N, K)
        k = min(top_k or DEFAULT_TOP_K, self.num_classes)
        rows = []
        for row in probabilities:
            top = row.topk(k)
            text = ", ".join(
                f"{classes[int(i)]} {float(p):.3f}" for p, i in zip(top.values, top.indices, strict=True)
            )
            fields: dict[str, Scalar] = {f"predicted_{target}": classes[int(top.indices[0])]}
            for label, probability in zip(classes, row.tolist(), strict=True):
                fields[f"probability_{label}"] = round(float(probability), 6)
            rows.append((text, fields))
        return rows


def build_task(cfg: DictConfig) -> TabularClassificationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return TabularClassificationTask(cfg)
