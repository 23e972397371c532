"""Metrics of predicted fields, as per-batch sums the trainer averages over a split."""

from __future__ import annotations

import torch
from torch import Tensor

from ..losses.relative_l2 import relative_l2


def field_metric_sums(prediction: Tensor, target: Tensor) -> dict[str, Tensor]:
    """Summed per-sample errors of one batch.

    Args:
        prediction: Decoded predictions of shape ``(B, C, *grid)``.
        target: Targets of the same shape, in physical units.

    Returns:
        ``rel_l2`` (relative L2 error), ``mse`` (mean squared error over channels and grid)
        and ``max_abs`` (largest absolute error), each summed over the batch, and ``count``.
    """
    prediction, target = prediction.float(), target.float()
    error = (prediction - target).flatten(1)  # (B, C * prod(grid))
    return {
        "rel_l2": relative_l2(prediction, target).sum(),
        "mse": error.pow(2).mean(dim=1).sum(),
        "max_abs": error.abs().amax(dim=1).sum(),
        "count": torch.tensor(float(prediction.shape[0]), device=prediction.device),
    }
