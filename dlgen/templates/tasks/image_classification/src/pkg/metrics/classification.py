"""Top-k accuracy."""

from __future__ import annotations

import torch


def topk_correct(
    logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)
) -> dict[int, torch.Tensor]:
    """How many samples have their label among the k highest scores, for each k.

    k larger than the number of classes is clamped to it (top-5 of 3 classes is top-3).

    Args:
        logits: ``(B, K)`` scores.
        labels: ``(B,)`` class indices.
        ks: The k values.

    Returns:
        k -> a float scalar tensor with the count of correct samples.

    Raises:
        ValueError: If the shapes do not match.
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (B, K) and labels (B,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    largest = min(max(ks), logits.shape[1])
    top = logits.topk(largest, dim=1).indices  # (B, largest)
    hits = top.eq(labels.unsqueeze(1))  # (B, largest)
    return {k: hits[:, : min(k, largest)].any(dim=1).float().sum() for k in ks}


def accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 1) -> float:
    """Top-k accuracy of one batch, in [0, 1].

    Args:
        logits: ``(B, K)`` scores.
        labels: ``(B,)`` class indices.
        k: How many top predictions count.

    Returns:
        The fraction of samples whose label is among the top k.
    """
    correct = topk_correct(logits, labels, (k,))[k]
    return float(correct) / max(1, labels.shape[0])
