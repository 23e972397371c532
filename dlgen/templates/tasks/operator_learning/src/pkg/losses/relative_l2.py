"""Relative L2 loss: the training objective of Li et al. (2021) for neural operators."""

from __future__ import annotations

from torch import Tensor, nn

EPS = 1e-12


def relative_l2(prediction: Tensor, target: Tensor) -> Tensor:
    """Per-sample relative L2 error ``||prediction - target||_2 / ||target||_2``.

    The norms run over every axis but the batch one (channels and grid), so the error does
    not depend on the grid's resolution or the field's scale.

    Args:
        prediction: Fields of shape ``(B, C, *grid)``.
        target: Fields of the same shape.

    Returns:
        Errors of shape ``(B,)``.

    Raises:
        ValueError: If the shapes differ.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ"
        )
    difference = (prediction - target).flatten(1).norm(dim=1)  # (B,)
    return difference / target.flatten(1).norm(dim=1).clamp_min(EPS)


class RelativeL2Loss(nn.Module):
    """The mean over the batch of the per-sample relative L2 error.

    Computed in fp32 even under autocast, since the norms of small errors underflow in half
    precision.
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """Average relative error.

        Args:
            prediction: Fields of shape ``(B, C, *grid)``.
            target: Fields of the same shape.

        Returns:
            A scalar.
        """
        return relative_l2(prediction.float(), target.float()).mean()
