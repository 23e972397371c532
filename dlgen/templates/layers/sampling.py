"""Token sampling for autoregressive generation: temperature and top-k."""

import torch
from torch import Tensor


def sample_next_token(
    logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None
) -> Tensor:
    """Draw the next token from the last position's logits.

    Args:
        logits: Scores of shape ``(B, V)``.
        temperature: Softmax temperature (> 0); lower is more conservative.
        top_k: Sample only among the ``k`` most likely tokens; ``None`` for all.
        generator: Random generator, for reproducible samples.

    Returns:
        Token ids of shape ``(B, 1)``.
    """
    scores = logits.float() / temperature  # (B, V)
    if top_k is not None:
        kth = torch.topk(scores, min(top_k, scores.shape[-1])).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator)  # (B, 1)
