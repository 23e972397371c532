"""Multi-head cross-attention (Vaswani et al., 2017, section 3.2.3) on PyTorch's fused SDPA.

Queries come from one sequence (the decoder's tokens), keys and values from another (the
encoder's output, the "memory"). A key padding mask keeps padded source positions out of
every softmax. Self-attention with a padding mask is the special case ``memory = x``.
"""

import torch.nn.functional as F
from torch import Tensor, nn


class CrossAttention(nn.Module):
    """Multi-head attention from queries ``x`` to keys/values ``memory``.

    ``softmax(Q K^T / sqrt(d)) V`` per head (Eq. 1) with ``Q = x W_q`` and
    ``[K, V] = memory W_kv``; the key/value projection is one fused linear layer, laid out
    as the last two thirds of ``torch.nn.MultiheadAttention``'s ``in_proj_weight``.
    Shapes: ``x (B, T, D)``, ``memory (B, S, D)`` -> ``(B, T, D)``; cost ``O(B * T * S * D)``
    time and, with the fused kernels, ``O(B * (T + S) * D)`` memory.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D`` of both sequences.
            num_heads: Number of heads ``H``; must divide ``dim``.
            bias: Whether the projections have biases.
            attn_drop: Dropout on the attention weights during training.
            proj_drop: Dropout on the output projection.

        Raises:
            ValueError: If ``num_heads`` does not divide ``dim``.
        """
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide dim={dim}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.attn_drop = attn_drop
        self.q = nn.Linear(dim, dim, bias=bias)
        self.kv = nn.Linear(dim, dim * 2, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor, memory: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """Attend every query token to the memory's (non-padded) tokens.

        Args:
            x: Query tokens of shape ``(B, T, D)``.
            memory: Key/value tokens of shape ``(B, S, D)``.
            key_padding_mask: Optional boolean ``(B, S)``, ``True`` at padded memory
                positions (ignored by every query). Each row must keep one real position.

        Returns:
            Tokens of shape ``(B, T, D)``.
        """
        batch, queries, dim = x.shape
        keys = memory.shape[1]
        q = self.q(x).reshape(batch, queries, self.num_heads, self.head_dim).transpose(1, 2)
        kv = self.kv(memory).reshape(batch, keys, 2, self.num_heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # 2 x (B, H, S, D/H)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, S), True: may attend
        dropout = self.attn_drop if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        out = out.transpose(1, 2).reshape(batch, queries, dim)  # (B, T, D)
        return self.proj_drop(self.proj(out))
