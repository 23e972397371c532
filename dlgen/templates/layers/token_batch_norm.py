"""Batch normalisation of token features, the norm PatchTST uses in its encoder."""

from torch import Tensor, nn


class TokenBatchNorm(nn.Module):
    """``BatchNorm1d`` over the feature axis of a token sequence.

    Statistics are taken per feature over every token of every sample in the batch (Nie et
    al., 2023, after Zerveas et al., 2021: batch norm suits time-series tokens, which lack
    the outliers of word embeddings). Shapes: ``(B, N, D) -> (B, N, D)``; cost ``O(B * N * D)``.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D``.
            eps: Added to the variance.
        """
        super().__init__()
        self.norm = nn.BatchNorm1d(dim, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise every feature.

        Args:
            x: Tokens of shape ``(B, N, D)``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        return self.norm(x.transpose(1, 2)).transpose(1, 2)  # (B, D, N) -> (B, N, D)
