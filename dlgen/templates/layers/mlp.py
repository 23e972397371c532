"""The transformer feed-forward network: two linear layers around an activation."""

from torch import Tensor, nn

from .activations import get_activation


class Mlp(nn.Module):
    """Position-wise feed-forward network ``fc2(drop(act(fc1(x))))``.

    Shapes: ``(B, N, D) -> (B, N, D_out)``; cost ``O(B * N * D * D_hidden)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int | None = None,
        activation: str = "gelu",
        drop: float = 0.0,
    ) -> None:
        """Create the layer.

        Args:
            in_features: Input dimension ``D``.
            hidden_features: Hidden dimension, typically ``4 * D``.
            out_features: Output dimension; ``in_features`` when ``None``.
            activation: Name of the activation (see ``layers.activations``).
            drop: Dropout after the activation and after the output layer.
        """
        super().__init__()
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = get_activation(activation)
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the network to every token.

        Args:
            x: Tokens of shape ``(..., D)``.

        Returns:
            Tokens of shape ``(..., D_out)``.
        """
        x = self.drop1(self.act(self.fc1(x)))
        return self.drop2(self.fc2(x))
