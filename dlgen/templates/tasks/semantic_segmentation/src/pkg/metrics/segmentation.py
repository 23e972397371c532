"""Segmentation metrics from a confusion matrix accumulated over the whole split.

IoU per class is ``TP / (TP + FP + FN)`` over every evaluated pixel, not an average of
per-batch IoUs (which over-weights small batches and images without a class). mIoU
averages the classes that occur in the labels or the predictions.
"""

from __future__ import annotations

import torch
from torch import Tensor


def predicted_labels(logits: Tensor, binary: bool) -> Tensor:
    """The label per pixel.

    Args:
        logits: ``(B, K, H, W)`` (binary: ``(B, 1, H, W)``).
        binary: Whether the logits are a single foreground channel.

    Returns:
        ``(B, H, W)`` int64 labels.
    """
    if binary:
        return (logits[:, 0] > 0).long()
    return logits.argmax(dim=1)


def confusion_matrix(prediction: Tensor, mask: Tensor, classes: int, ignore_index: int) -> Tensor:
    """Counts of (true label, predicted label) pairs over the labelled pixels.

    Args:
        prediction: ``(B, H, W)`` predicted labels.
        mask: ``(B, H, W)`` true labels.
        classes: Number of labels ``K``.
        ignore_index: Label of unlabelled pixels (skipped).

    Returns:
        ``(K, K)`` float counts; row: true label, column: prediction.
    """
    valid = mask != ignore_index
    index = mask[valid] * classes + prediction[valid]
    counts = torch.bincount(index, minlength=classes * classes)
    return counts.reshape(classes, classes).float()


def scores(confusion: Tensor) -> dict[str, Tensor]:
    """IoU per class, mIoU, pixel accuracy and mean class accuracy from a confusion matrix.

    Args:
        confusion: ``(K, K)`` counts (row: true label).

    Returns:
        ``iou`` ``(K,)`` (NaN for a class absent from labels and predictions), ``miou``,
        ``pixel_accuracy``, ``mean_accuracy`` and ``dice`` ``(K,)``.
    """
    true_positive = confusion.diag()
    labelled = confusion.sum(dim=1)
    predicted = confusion.sum(dim=0)
    union = labelled + predicted - true_positive
    iou = true_positive / union  # NaN where the union is empty
    accuracy = true_positive / labelled
    return {
        "iou": iou,
        "miou": iou.nanmean(),
        "pixel_accuracy": true_positive.sum() / confusion.sum().clamp(min=1),
        "mean_accuracy": accuracy.nanmean(),
        "dice": 2 * true_positive / (labelled + predicted),
    }
