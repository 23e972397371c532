"""Reversible instance normalisation for forecasting (RevIN, Kim et al., 2022)."""

import torch
from torch import Tensor, nn


class RevIN(nn.Module):
    """Normalise each series of a window by its own statistics, and undo it on the forecast.

    :meth:`normalize` subtracts each sample's per-feature mean over time and divides by its
    standard deviation, then applies a learnable per-feature affine map (Kim et al., 2022,
    Eq. 1-2); :meth:`denormalize` inverts both on the model's output (Eq. 3), so the network
    sees level- and scale-free inputs while the forecast keeps the window's level. The
    statistics are returned, not stored, so the layer holds no state between calls.
    Shapes: ``(B, L, F) -> (B, L, F)`` and ``(B, H, F) -> (B, H, F)``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        """Create the layer.

        Args:
            num_features: Features per step ``F``.
            eps: Added to the variance, and guards the inverse of the affine scale.
            affine: Learn a per-feature scale and shift (``2 F`` parameters).
        """
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None

    def normalize(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Standardise each sample's window per feature.

        Args:
            x: Windows of shape ``(B, L, F)``.

        Returns:
            ``(normalised (B, L, F), (mean (B, 1, F), std (B, 1, F)))``; pass the statistics
            to :meth:`denormalize`.
        """
        mean = x.mean(dim=1, keepdim=True).detach()  # (B, 1, F)
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        x = (x - mean) / std
        if self.weight is not None and self.bias is not None:
            x = x * self.weight + self.bias
        return x, (mean, std)

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        """Map a forecast back to the units of the window the statistics come from.

        Args:
            y: Forecasts of shape ``(B, H, F)``.
            stats: ``(mean, std)`` returned by :meth:`normalize`, each ``(B, 1, F)``.

        Returns:
            Forecasts of shape ``(B, H, F)`` in the input's units.
        """
        mean, std = stats
        if self.weight is not None and self.bias is not None:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * std + mean
