"""Perplexity and bits per character from the mean negative log-likelihood."""

from __future__ import annotations

import math

# exp() of a mean NLL above this overflows a float; report infinity instead.
_MAX_EXPONENT = 700.0


def perplexity(mean_nll: float) -> float:
    """Perplexity ``exp(mean NLL)``: the effective number of equally likely next tokens.

    Args:
        mean_nll: Mean negative log-likelihood per token, in nats.

    Returns:
        The perplexity (``inf`` when it would overflow).
    """
    return math.exp(mean_nll) if mean_nll < _MAX_EXPONENT else math.inf


def bits_per_token(mean_nll: float) -> float:
    """Mean NLL in bits (bits per character for a character model).

    Args:
        mean_nll: Mean negative log-likelihood per token, in nats.

    Returns:
        ``mean_nll / ln 2``.
    """
    return mean_nll / math.log(2.0)
