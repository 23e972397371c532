"""Cross-entropy for hard or soft (smoothed, mixed) targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ClassificationLoss(nn.Module):
    """Cross-entropy that accepts class indices or soft targets.

    Hard targets ``(B,)`` use label smoothing; soft targets ``(B, K)`` (from label
    smoothing plus Mixup/CutMix) use ``-sum(target * log_softmax(logits))``.

    Args:
        label_smoothing: Mass spread over all classes for hard targets, in [0, 1).
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch.

        Args:
            logits: ``(B, K)`` unnormalised scores.
            targets: ``(B,)`` class indices or ``(B, K)`` probabilities.

        Returns:
            A scalar tensor.

        Raises:
            ValueError: If the shapes do not match.
        """
        if logits.ndim != 2:
            raise ValueError(f"logits must be (B, K), got {tuple(logits.shape)}")
        logits = logits.float()
        if targets.ndim == 1:
            return F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        if targets.shape != logits.shape:
            raise ValueError(
                f"soft targets {tuple(targets.shape)} must match logits {tuple(logits.shape)}"
            )
        return -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
