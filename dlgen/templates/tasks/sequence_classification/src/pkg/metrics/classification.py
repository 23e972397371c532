"""Accuracy and macro F1 from per-class counts that can be summed over batches and ranks."""

from __future__ import annotations

import torch
from torch import Tensor


def class_counts(logits: Tensor, labels: Tensor, num_classes: int) -> dict[str, Tensor]:
    """Correct predictions and per-class true positives, false positives, false negatives.

    Args:
        logits: ``(B, K)`` scores.
        labels: ``(B,)`` class indices.
        num_classes: ``K``.

    Returns:
        ``correct`` (a scalar) and ``tp``, ``fp``, ``fn`` (each ``(K,)``), as floats.

    Raises:
        ValueError: If the shapes do not match.
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1] or logits.shape[1] != num_classes:
        raise ValueError(
            f"expected logits (B, {num_classes}) and labels (B,), got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}"
        )
    predictions = logits.argmax(dim=1)
    predicted = torch.nn.functional.one_hot(predictions, num_classes).float()  # (B, K)
    actual = torch.nn.functional.one_hot(labels, num_classes).float()  # (B, K)
    tp = (predicted * actual).sum(dim=0)
    return {
        "correct": (predictions == labels).float().sum(),
        "tp": tp,
        "fp": predicted.sum(dim=0) - tp,
        "fn": actual.sum(dim=0) - tp,
    }


def macro_f1(tp: Tensor, fp: Tensor, fn: Tensor) -> float:
    """Unweighted mean of the per-class F1 scores, ``2 TP / (2 TP + FP + FN)``.

    Classes that never occur and are never predicted are left out of the mean (their F1
    is undefined); with no such class every class counts.

    Args:
        tp: True positives per class, shape ``(K,)`` (counts or counts / N).
        fp: False positives per class.
        fn: False negatives per class.

    Returns:
        Macro F1 in ``[0, 1]``.
    """
    denominator = 2 * tp + fp + fn
    present = denominator > 0
    if not bool(present.any()):
        return 0.0
    scores = 2 * tp[present] / denominator[present]
    return float(scores.mean())
