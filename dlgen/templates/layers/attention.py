"""Multi-head self-attention (Vaswani et al., 2017) on PyTorch's fused SDPA kernels."""

import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head self-attention with a single fused QKV projection.

    ``softmax(Q K^T / sqrt(d)) V`` per head (Vaswani et al., 2017, Eq. 1), computed by
    ``F.scaled_dot_product_attention``, which picks a flash or memory-efficient kernel when
    one is available. With ``is_causal`` token ``i`` attends to tokens ``<= i`` only (the
    decoder's mask, GPT). ``forward(x, attn_mask)`` also takes a boolean mask, ``True`` where
    a query may attend to a key (an encoder's key padding mask, ``(B, 1, 1, N)``). Shapes:
    ``(B, N, D) -> (B, N, D)``; cost ``O(B * N^2 * D)`` time and, with the fused kernels,
    ``O(B * N * D)`` memory.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        is_causal: bool = False,
        proj_bias: bool = True,
    ) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D``.
            num_heads: Number of heads ``H``; must divide ``dim``.
            qkv_bias: Whether the QKV projection has a bias.
            attn_drop: Dropout on the attention weights during training.
            proj_drop: Dropout on the output projection.
            is_causal: Whether to mask attention to later tokens (decoder self-attention).
            proj_bias: Whether the output projection has a bias.

        Raises:
            ValueError: If ``num_heads`` does not divide ``dim``.
        """
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide dim={dim}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.attn_drop = attn_drop
        self.is_causal = is_causal
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Attend every token to every token (to itself and earlier ones when causal).

        Args:
            x: Tokens of shape ``(B, N, D)``.
            attn_mask: Optional boolean mask broadcastable to ``(B, H, N, N)``, ``True``
                where attention is allowed, e.g. ``(B, 1, 1, N)`` to ignore padded keys. Every
                query must keep at least one key. Not combined with ``is_causal``.

        Returns:
            Tokens of shape ``(B, N, D)``.

        Raises:
            ValueError: If a mask is given to a causal layer.
        """
        if attn_mask is not None and self.is_causal:
            raise ValueError("attn_mask is not supported with is_causal=True; pass one of them")
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, H, N, D/H)
        dropout = self.attn_drop if self.training else 0.0
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=dropout, is_causal=self.is_causal
        )  # (B, H, N, D/H)
        x = x.transpose(1, 2).reshape(batch, tokens, dim)  # (B, N, D)
        return self.proj_drop(self.proj(x))
