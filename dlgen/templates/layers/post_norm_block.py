"""The post-norm transformer encoder layer (Vaswani et al., 2017; BERT, Devlin et al., 2019)."""

from torch import Tensor, nn

from .attention import Attention
from .mlp import Mlp
from .token_batch_norm import TokenBatchNorm

NORMS = ("layer", "batch")


class PostNormBlock(nn.Module):
    """Post-norm residual block: ``LN(x + MSA(x))`` then ``LN(x + MLP(x))``.

    As in BERT (Hugging Face's ``BertLayer``): dropout on the attention weights and after
    each branch's output projection, none inside the MLP. ``norm="batch"`` replaces both
    LayerNorms by batch norms over the tokens (PatchTST). Shapes: ``(B, N, D) -> (B, N, D)``;
    cost ``O(B * N^2 * D + B * N * D^2 * mlp_ratio)``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        activation: str = "gelu",
        norm_eps: float = 1e-12,
        norm: str = "layer",
    ) -> None:
        """Create the block.

        Args:
            dim: Token dimension ``D``.
            num_heads: Number of attention heads; must divide ``dim``.
            mlp_ratio: Hidden size of the MLP relative to ``dim``.
            drop: Dropout after the attention projection and after the MLP.
            attn_drop: Dropout on the attention weights.
            activation: Activation of the MLP.
            norm_eps: Epsilon of the norms (BERT: 1e-12).
            norm: ``"layer"`` (LayerNorm) or ``"batch"`` (:class:`TokenBatchNorm`).

        Raises:
            ValueError: If ``norm`` is not one of ``NORMS``.
        """
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.attn = Attention(dim, num_heads, qkv_bias=True, attn_drop=attn_drop, proj_drop=drop)
        self.norm1 = _norm(norm, dim, norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), activation=activation, drop=0.0)
        self.drop = nn.Dropout(drop)
        self.norm2 = _norm(norm, dim, norm_eps)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Apply attention then the MLP, each followed by the residual sum and a norm.

        Args:
            x: Tokens of shape ``(B, N, D)``.
            attn_mask: Optional boolean attention mask, ``True`` where attention is allowed
                (e.g. ``(B, 1, 1, N)`` to ignore padded keys); see ``Attention.forward``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        x = self.norm1(x + self.attn(x, attn_mask))
        return self.norm2(x + self.drop(self.mlp(x)))


def _norm(kind: str, dim: int, eps: float) -> nn.Module:
    return nn.LayerNorm(dim, eps=eps) if kind == "layer" else TokenBatchNorm(dim, eps=eps)
