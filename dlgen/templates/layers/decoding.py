"""Autoregressive decoding for encoder-decoder models: greedy search and beam search.

Both take a ``step`` function that scores the next token of every prefix, so they work for
any decoder. Neither keeps a key/value cache: each step re-runs the decoder on the whole
prefix, so decoding ``T`` tokens costs ``O(T^2)`` decoder positions instead of ``O(T)``
(the encoder runs once). Sentences stop at their own end-of-sequence token or at their own
length limit; finished rows are padded while the others continue.
"""

from collections.abc import Callable

import torch
from torch import Tensor

# Scores the next token: prefixes (N, t) -> log-probabilities (N, V).
StepFunction = Callable[[Tensor], Tensor]


def _force_limits(log_probs: Tensor, reached: Tensor, eos_id: int) -> Tensor:
    """Make the end-of-sequence token the only choice in rows that reached their limit."""
    forced = torch.full_like(log_probs, float("-inf"))
    forced[:, eos_id] = 0.0
    return torch.where(reached[:, None], forced, log_probs)


def _keep_finished(log_probs: Tensor, finished: Tensor, pad_id: int) -> Tensor:
    """Finished rows can only append padding, at no cost, so their score stays put."""
    padded = torch.full_like(log_probs, float("-inf"))
    padded[:, pad_id] = 0.0
    return torch.where(finished[:, None], padded, log_probs)


def greedy_search(
    step: StepFunction, limits: Tensor, bos_id: int, eos_id: int, pad_id: int
) -> Tensor:
    """Pick the most likely token at every step.

    Args:
        step: Next-token log-probabilities of prefixes ``(B, t) -> (B, V)``.
        limits: Most tokens to generate per row, end-of-sequence included, shape ``(B,)``.
        bos_id: The start token every prefix begins with.
        eos_id: The end-of-sequence token.
        pad_id: Appended to finished rows.

    Returns:
        Generated ids ``(B, L)`` without the start token, each row ending at its
        end-of-sequence token (then padding); ``L = max(limits)`` at most.
    """
    batch = limits.shape[0]
    device = limits.device
    tokens = torch.full((batch, 1), bos_id, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    for length in range(1, int(limits.max()) + 1):
        log_probs = _force_limits(step(tokens).float(), limits <= length, eos_id)
        log_probs = _keep_finished(log_probs, finished, pad_id)
        choice = log_probs.argmax(dim=-1)  # (B,)
        tokens = torch.cat([tokens, choice[:, None]], dim=1)
        finished = finished | (choice == eos_id)
        if bool(finished.all()):
            break
    return tokens[:, 1:]


def length_penalty(lengths: Tensor, alpha: float) -> Tensor:
    """GNMT's length normalisation ``lp(Y) = ((5 + |Y|) / 6) ** alpha`` (Wu et al., 2016, Eq. 14).

    Args:
        lengths: Hypothesis lengths ``|Y|`` (end-of-sequence included).
        alpha: Strength; 0 ranks by the raw log-probability (Vaswani et al. use 0.6).

    Returns:
        The divisor of each hypothesis' log-probability, same shape as ``lengths``.
    """
    return ((5.0 + lengths.float()) / 6.0) ** alpha


def beam_search(
    step: StepFunction,
    limits: Tensor,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    alpha: float = 0.6,
) -> Tensor:
    """Keep the ``beam_size`` most likely prefixes per sentence; rank them by length.

    The final hypotheses are ranked by ``log P(Y) / lp(Y)`` (Wu et al., 2016, Eq. 14;
    Vaswani et al., 2017, section 6.1).

    All sentences' beams run as one batch of ``B * K`` prefixes. A finished hypothesis
    keeps its slot (it appends padding at no cost) until every beam of its sentence has
    finished or reached the length limit; the length penalty chooses among the ``K`` final
    hypotheses. With ``beam_size=1`` this is :func:`greedy_search`.

    Args:
        step: Next-token log-probabilities of prefixes ``(B * K, t) -> (B * K, V)``; row
            ``b * K + k`` is beam ``k`` of sentence ``b``.
        limits: Most tokens to generate per sentence, shape ``(B,)``.
        beam_size: Beams per sentence ``K``.
        bos_id: The start token.
        eos_id: The end-of-sequence token.
        pad_id: Appended to finished hypotheses.
        alpha: Length-penalty strength (0.6 in the paper).

    Returns:
        The best hypothesis per sentence ``(B, L)``, without the start token, padded after
        its end-of-sequence token.

    Raises:
        ValueError: If ``beam_size`` is below 1.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    batch, device = limits.shape[0], limits.device
    rows = batch * beam_size
    row_limits = limits.repeat_interleave(beam_size)  # (B * K,)
    tokens = torch.full((rows, 1), bos_id, dtype=torch.long, device=device)
    # Only the first beam is live at the start, so the first step does not pick K copies.
    scores = torch.full((batch, beam_size), float("-inf"), device=device)
    scores[:, 0] = 0.0
    finished = torch.zeros(rows, dtype=torch.bool, device=device)
    lengths = torch.zeros(rows, dtype=torch.long, device=device)
    offsets = torch.arange(batch, device=device)[:, None] * beam_size  # (B, 1)
    for length in range(1, int(limits.max()) + 1):
        log_probs = _force_limits(step(tokens).float(), row_limits <= length, eos_id)
        log_probs = _keep_finished(log_probs, finished, pad_id)  # (B * K, V)
        vocab = log_probs.shape[-1]
        candidates = (scores.reshape(rows, 1) + log_probs).reshape(batch, beam_size * vocab)
        scores, flat = candidates.topk(beam_size, dim=-1)  # (B, K)
        source = (offsets + flat // vocab).reshape(rows)  # the prefix each new beam extends
        choice = (flat % vocab).reshape(rows)
        tokens = torch.cat([tokens[source], choice[:, None]], dim=1)
        lengths = lengths[source] + (~finished[source]).long()
        finished = finished[source] | (choice == eos_id)
        if bool(finished.all()):
            break
    normalised = scores / length_penalty(lengths.reshape(batch, beam_size), alpha)
    best = offsets[:, 0] + normalised.argmax(dim=-1)  # (B,)
    return tokens[best, 1:]
