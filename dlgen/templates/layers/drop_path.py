"""Stochastic depth (Huang et al., 2016): drop whole residual branches per sample."""

import torch
from torch import Tensor, nn


class DropPath(nn.Module):
    """Zero a residual branch for a random subset of samples during training.

    Kept samples are scaled by ``1 / (1 - drop_prob)`` so the expected value is unchanged.
    Shapes: ``(B, ...) -> (B, ...)``; cost ``O(numel)``.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        """Create the layer.

        Args:
            drop_prob: Probability of dropping the branch for a sample, in ``[0, 1)``.

        Raises:
            ValueError: If ``drop_prob`` is outside ``[0, 1)``.
        """
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        """Apply stochastic depth.

        Args:
            x: Residual branch output, shape ``(B, ...)``.

        Returns:
            The same shape; identity in eval mode or when ``drop_prob`` is 0.
        """
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (B, 1, ..., 1)
        mask = torch.empty(mask_shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        """Describe the module when it is printed.

        Returns:
            The drop probability, e.g. ``drop_prob=0.1``.
        """
        return f"drop_prob={self.drop_prob}"
