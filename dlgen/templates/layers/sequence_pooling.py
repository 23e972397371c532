"""Length masks and pooling over the time axis of padded sequence batches."""

import torch
from torch import Tensor


def length_mask(lengths: Tensor, max_length: int) -> Tensor:
    """Boolean mask of the real (non-padded) steps.

    Args:
        lengths: Real steps per sample, shape ``(B,)``.
        max_length: The padded length ``L``.

    Returns:
        Shape ``(B, L)``: ``True`` where ``t < lengths[b]``.
    """
    steps = torch.arange(max_length, device=lengths.device)  # (L,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, L)


def masked_mean(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Average over the real steps of each sample, ignoring padding.

    Args:
        x: Per-step features of shape ``(B, L, D)``.
        lengths: Real steps per sample, shape ``(B,)``, each at least 1; ``None`` averages
            all ``L`` steps.

    Returns:
        Shape ``(B, D)``.
    """
    if lengths is None:
        return x.mean(dim=1)
    mask = length_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)  # (B, L, 1)
    total = (x * mask).sum(dim=1)  # (B, D)
    return total / mask.sum(dim=1).clamp_min(1.0)


def masked_max(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Maximum over the real steps of each sample, ignoring padding.

    Args:
        x: Per-step features of shape ``(B, L, D)``.
        lengths: Real steps per sample, shape ``(B,)``, each at least 1; ``None`` uses all
            ``L`` steps.

    Returns:
        Shape ``(B, D)``.
    """
    if lengths is None:
        return x.amax(dim=1)
    mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)  # (B, L, 1)
    return x.masked_fill(~mask, torch.finfo(x.dtype).min).amax(dim=1)
