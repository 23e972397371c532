"""Forecast errors per sample, to be summed over batches and ranks."""

from __future__ import annotations

from torch import Tensor


def squared_error(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of each sample over its steps and features.

    Args:
        prediction: ``(B, H, F)`` forecasts.
        target: ``(B, H, F)`` true values.

    Returns:
        Shape ``(B,)``.

    Raises:
        ValueError: If the shapes differ.
    """
    _check(prediction, target)
    return (prediction - target).pow(2).flatten(1).mean(dim=1)


def absolute_error(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error of each sample over its steps and features.

    Args:
        prediction: ``(B, H, F)`` forecasts.
        target: ``(B, H, F)`` true values.

    Returns:
        Shape ``(B,)``.

    Raises:
        ValueError: If the shapes differ.
    """
    _check(prediction, target)
    return (prediction - target).abs().flatten(1).mean(dim=1)


def _check(prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} must match"
        )
