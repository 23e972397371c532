"""Pointwise (1x1) linear map over the channels of a field with any number of spatial axes."""

from torch import Tensor, nn


class PointwiseLinear(nn.Linear):
    """A linear layer applied at every grid point of a channels-first field.

    Equivalent to a 1x1 convolution in 1, 2 or 3 dimensions (the same parameters:
    ``in_features * out_features + out_features``), written once for any rank.

    Shapes: ``(B, C_in, *grid) -> (B, C_out, *grid)``.
    """

    def forward(self, x: Tensor) -> Tensor:
        """Map the channels of every grid point.

        Args:
            x: Field of shape ``(B, C_in, *grid)``.

        Returns:
            Field of shape ``(B, C_out, *grid)``.
        """
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)  # via (B, *grid, C)
