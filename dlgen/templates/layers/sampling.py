"""Token sampling for autoregressive generation: temperature, top-k and top-p (nucleus)."""

import torch
from torch import Tensor


def top_p_filter(scores: Tensor, top_p: float) -> Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches ``top_p``.

    Nucleus sampling (Holtzman et al., 2020, section 3.1): sort the probabilities, keep
    tokens while the cumulative mass *before* each one is below ``top_p`` (so the most
    likely token always stays), and mask the rest with ``-inf``.

    Args:
        scores: Temperature-scaled logits of shape ``(B, V)``.
        top_p: Probability mass to keep, in ``(0, 1]``; 1 keeps every token.

    Returns:
        ``scores`` with the tokens outside the nucleus set to ``-inf``, shape ``(B, V)``.

    Raises:
        ValueError: If ``top_p`` is not in ``(0, 1]``.
    """
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if top_p == 1.0:
        return scores
    sorted_scores, order = torch.sort(scores, dim=-1, descending=True)  # (B, V)
    probs = sorted_scores.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # (B, V)
    drop_sorted = mass_before >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # (B, V)
    return scores.masked_fill(drop, float("-inf"))


def sample_next_token(
    logits: Tensor,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
    top_p: float | None = None,
) -> Tensor:
    """Draw the next token from the last position's logits.

    Args:
        logits: Scores of shape ``(B, V)``.
        temperature: Softmax temperature (> 0); lower is more conservative.
        top_k: Sample only among the ``k`` most likely tokens; ``None`` for all.
        generator: Random generator, for reproducible samples.
        top_p: Then keep only the nucleus of this probability mass (:func:`top_p_filter`);
            ``None`` for all.

    Returns:
        Token ids of shape ``(B, 1)``.
    """
    scores = logits.float() / temperature  # (B, V)
    if top_k is not None:
        kth = torch.topk(scores, min(top_k, scores.shape[-1])).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p is not None:
        scores = top_p_filter(scores, top_p)
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator)  # (B, 1)
