"""Tabular metrics from sums that add up over batches and ranks.

Classification: the confusion matrix gives accuracy and macro-F1 exactly; ROC-AUC
(binary) comes from histograms of the positive-class log-odds, 4,096 bins over
``[-16, 16]`` (scores in one bin count as ties, the binned AUROC of torchmetrics'
``thresholds``). Regression: squared and absolute errors give MSE and MAE, and error and
target moments R² (the coefficient of determination, averaged over the targets as
scikit-learn's ``r2_score``).
"""

from __future__ import annotations

import torch
from torch import Tensor

AUC_BINS = 4096
AUC_RANGE = 16.0


def confusion_matrix(predicted: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Counts of (true class, predicted class) pairs.

    Args:
        predicted: ``(N,)`` predicted class indices.
        target: ``(N,)`` true class indices.
        num_classes: K.

    Returns:
        ``(K, K)`` float counts; row: true class, column: predicted class.
    """
    flat = target.long() * num_classes + predicted.long()  # (N,)
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).float()


def classification_scores(confusion: Tensor) -> dict[str, float]:
    """Accuracy and macro-F1 from a confusion matrix.

    Macro-F1 averages the per-class F1 over the classes that occur in the labels or the
    predictions (scikit-learn's ``f1_score(average="macro")``; a class never predicted
    scores 0).

    Args:
        confusion: ``(K, K)`` counts (row: true class).

    Returns:
        ``accuracy`` and ``macro_f1``.
    """
    confusion = confusion.detach().double()
    total = confusion.sum()
    true_positive = confusion.diagonal()
    support = confusion.sum(dim=1)
    predicted = confusion.sum(dim=0)
    denominator = support + predicted
    f1 = torch.where(denominator > 0, 2 * true_positive / denominator.clamp(min=1), 0.0)
    present = denominator > 0
    return {
        "accuracy": float(true_positive.sum() / total) if total > 0 else 0.0,
        "macro_f1": float(f1[present].mean()) if bool(present.any()) else 0.0,
    }


def binary_log_odds(logits: Tensor) -> Tensor:
    """The positive class's (index 1) log-odds of two-class logits.

    Args:
        logits: ``(N, 2)`` logits.

    Returns:
        ``(N,)`` ``logit_1 - logit_0``, a monotone function of its probability.
    """
    return logits[:, 1].float() - logits[:, 0].float()


def auc_histogram(scores: Tensor, target: Tensor) -> Tensor:
    """Histograms of the scores of the negative and the positive samples.

    Args:
        scores: ``(N,)`` positive-class log-odds.
        target: ``(N,)`` labels, 1 for positive.

    Returns:
        ``(2, AUC_BINS)`` counts; row 0: negatives, row 1: positives.
    """
    scaled = (scores.float().clamp(-AUC_RANGE, AUC_RANGE) + AUC_RANGE) / (2 * AUC_RANGE)
    bins = (scaled * AUC_BINS).long().clamp(max=AUC_BINS - 1)  # (N,)
    flat = target.long().clamp(0, 1) * AUC_BINS + bins
    return torch.bincount(flat, minlength=2 * AUC_BINS).reshape(2, AUC_BINS).float()


def binned_roc_auc(histogram: Tensor) -> float:
    """ROC-AUC from score histograms: P(positive scores higher) + 0.5 P(same bin).

    Args:
        histogram: ``(2, bins)`` counts of negatives (row 0) and positives (row 1).

    Returns:
        The area under the ROC curve, or NaN when a class is absent.
    """
    negatives, positives = histogram.detach().double()
    total_negative, total_positive = negatives.sum(), positives.sum()
    if total_negative == 0 or total_positive == 0:
        return float("nan")
    below = torch.cumsum(negatives, dim=0) - negatives  # negatives in lower bins
    wins = (positives * (below + 0.5 * negatives)).sum()
    return float(wins / (total_negative * total_positive))


def error_sums(prediction: Tensor, target: Tensor) -> dict[str, Tensor]:
    """Per-batch sums of the squared and absolute errors.

    Args:
        prediction: ``(N, T)`` predictions, in the targets' units.
        target: ``(N, T)`` true values, in the same units.

    Returns:
        ``mse`` and ``mae``: per-sample means over the T targets, summed over the batch.
    """
    error = prediction.float() - target.float()
    return {"mse": error.pow(2).mean(dim=1).sum(), "mae": error.abs().mean(dim=1).sum()}


def r2_stats(prediction: Tensor, target: Tensor) -> Tensor:
    """Per-batch sums for R².

    Pass standardised values: R² is unchanged by the scaling, and float32 sums of squares
    stay exact enough.

    Args:
        prediction: ``(N, T)`` predictions.
        target: ``(N, T)`` true values.

    Returns:
        ``(4, T)``: summed squared errors, targets, squared targets and the sample count.
    """
    prediction, target = prediction.float(), target.float()
    count = torch.full_like(target[0], float(target.shape[0]))
    squared = (prediction - target).pow(2).sum(dim=0)
    return torch.stack([squared, target.sum(dim=0), target.pow(2).sum(dim=0), count])


def r2_score(stats: Tensor) -> float:
    """The coefficient of determination, averaged over targets (scikit-learn's default).

    Args:
        stats: ``(4, T)`` from :func:`r2_stats`, summed over the split.

    Returns:
        ``mean_t(1 - SSE_t / SST_t)``; a constant target scores 1 when predicted exactly,
        else 0, as scikit-learn does.
    """
    stats = stats.detach().double()
    sse, total, squares, count = stats[0], stats[1], stats[2], stats[3].clamp(min=1)
    sst = squares - total.pow(2) / count
    perfect = torch.where(sse <= 1e-12, 1.0, 0.0).double()
    r2 = torch.where(sst > 1e-9 * count, 1 - sse / sst.clamp(min=1e-12), perfect)
    return float(r2.mean())
