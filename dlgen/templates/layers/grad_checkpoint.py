"""Gradient (activation) checkpointing over a sequence of blocks."""

from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def run_blocks(blocks: Iterable[nn.Module], x: Tensor, use_checkpoint: bool) -> Tensor:
    """Run ``x`` through ``blocks`` in order, optionally recomputing activations.

    With checkpointing each block's activations are freed after the forward pass and
    recomputed in the backward pass: memory drops from ``O(depth)`` activations to about
    one block's worth, at the cost of roughly one extra forward pass.

    Args:
        blocks: The blocks to apply in order; each maps a tensor to a tensor.
        x: The input of the first block, of any shape the blocks accept, e.g. tokens
            of shape ``(B, N, D)``.
        use_checkpoint: Whether to checkpoint; ignored when gradients are disabled.

    Returns:
        The output of the last block (the same shape as ``x`` for residual blocks).
    """
    checkpointing = use_checkpoint and torch.is_grad_enabled()
    for block in blocks:
        x = checkpoint(block, x, use_reentrant=False) if checkpointing else block(x)
    return x
