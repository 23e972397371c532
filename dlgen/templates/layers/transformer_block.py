"""The pre-norm transformer encoder block used by ViT (Dosovitskiy et al., 2021, Eq. 2-3)."""

from torch import Tensor, nn

from .attention import Attention
from .drop_path import DropPath
from .mlp import Mlp


class TransformerBlock(nn.Module):
    """Pre-norm residual block: ``x + MSA(LN(x))`` then ``x + MLP(LN(x))``.

    Shapes: ``(B, N, D) -> (B, N, D)``; cost ``O(B * N^2 * D + B * N * D^2 * mlp_ratio)``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        activation: str = "gelu",
        norm_eps: float = 1e-6,
    ) -> None:
        """Create the block.

        Args:
            dim: Token dimension ``D``.
            num_heads: Number of attention heads; must divide ``dim``.
            mlp_ratio: Hidden size of the MLP relative to ``dim``.
            qkv_bias: Whether the QKV projection has a bias.
            drop: Dropout after the attention projection and inside the MLP.
            attn_drop: Dropout on the attention weights.
            drop_path: Stochastic depth probability of both residual branches.
            activation: Activation of the MLP.
            norm_eps: Epsilon of the LayerNorms.
        """
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(
            dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop
        )
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), activation=activation, drop=drop)
        self.drop_path2 = DropPath(drop_path)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Apply attention then the MLP, each as a pre-norm residual branch.

        Args:
            x: Tokens of shape ``(B, N, D)``.
            attn_mask: Optional boolean attention mask, ``True`` where attention is allowed
                (e.g. ``(B, 1, 1, N)`` to ignore padded keys); see ``Attention.forward``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        x = x + self.drop_path1(self.attn(self.norm1(x), attn_mask))
        return x + self.drop_path2(self.mlp(self.norm2(x)))
