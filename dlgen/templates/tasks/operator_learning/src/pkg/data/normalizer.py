"""Unit Gaussian normalisation of fields, one mean and standard deviation per channel.

Statistics are fitted on the training split only. They are per channel (over samples and
grid points) rather than per grid point, so a model trained at one resolution can be
evaluated at another, the discretisation invariance that neural operators are built for.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

EPS = 1e-8


class GaussianNormalizer:
    """Maps a field to zero mean and unit variance per channel, and back.

    Args:
        mean: Per-channel means, length ``C``.
        std: Per-channel standard deviations, length ``C`` (positive).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        if len(mean) != len(std) or not mean:
            raise ValueError(f"mean and std need one value per channel, got {mean} and {std}")
        if min(std) < 0:
            raise ValueError(f"standard deviations must be >= 0, got {list(std)}")
        self.mean = torch.tensor([float(v) for v in mean])
        self.std = torch.tensor([float(v) for v in std])

    @classmethod
    def fit(cls, data: Tensor) -> GaussianNormalizer:
        """Fit the statistics of a set of fields.

        Args:
            data: Fields of shape ``(N, C, *grid)``.

        Returns:
            The normaliser.
        """
        axes = [0, *range(2, data.ndim)]
        values = data.double()
        return cls(values.mean(dim=axes).tolist(), values.std(dim=axes).tolist())

    def _view(self, stat: Tensor, like: Tensor) -> Tensor:
        """A statistic shaped ``(1, C, 1, ...)`` on ``like``'s device and dtype."""
        if like.ndim < 2 or like.shape[1] != stat.numel():
            raise ValueError(
                f"expected fields shaped (B, {stat.numel()}, *grid), got {tuple(like.shape)}"
            )
        shape = (1, stat.numel()) + (1,) * (like.ndim - 2)
        return stat.to(device=like.device, dtype=like.dtype).view(shape)

    def encode(self, x: Tensor) -> Tensor:
        """Normalise fields.

        Args:
            x: Fields of shape ``(B, C, *grid)``.

        Returns:
            ``(x - mean) / std`` of the same shape.
        """
        return (x - self._view(self.mean, x)) / (self._view(self.std, x) + EPS)

    def decode(self, x: Tensor) -> Tensor:
        """Undo :meth:`encode`.

        Args:
            x: Normalised fields of shape ``(B, C, *grid)``.

        Returns:
            ``x * std + mean`` of the same shape.
        """
        return x * (self._view(self.std, x) + EPS) + self._view(self.mean, x)

    def to_lists(self) -> tuple[list[float], list[float]]:
        """The statistics as plain lists, for the config.

        Returns:
            ``(mean, std)``.
        """
        return self.mean.tolist(), self.std.tolist()
