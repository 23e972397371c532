"""Segmentation losses: cross-entropy, Dice, focal and CE + Dice, all honouring ignore_index.

Multi-class logits are ``(B, K, H, W)`` with masks ``(B, H, W)`` in ``[0, K)``; binary
logits are ``(B, 1, H, W)`` (one foreground logit, smp's ``classes=1`` convention) with
masks of 0 and 1, where "cross-entropy" is the binary one. Pixels equal to
``ignore_index`` contribute nothing to any loss. Everything is computed in fp32, so the
losses are safe under autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DICE_SMOOTH = 1.0


def _probabilities(logits: Tensor, binary: bool) -> Tensor:
    """Per-class probabilities ``(B, K, H, W)``; binary: background and foreground."""
    if binary:
        foreground = torch.sigmoid(logits)
        return torch.cat([1 - foreground, foreground], dim=1)
    return logits.softmax(dim=1)


def dice_loss(logits: Tensor, mask: Tensor, ignore_index: int, binary: bool) -> Tensor:
    """One minus the soft Dice coefficient, averaged over the classes present.

    Args:
        logits: ``(B, K, H, W)`` (binary: ``(B, 1, H, W)``).
        mask: ``(B, H, W)`` labels.
        ignore_index: Label of unlabelled pixels.
        binary: Whether the logits are a single foreground channel.

    Returns:
        A scalar. Binary: the Dice loss of the foreground only.
    """
    probabilities = _probabilities(logits.float(), binary)
    classes = probabilities.shape[1]
    valid = mask != ignore_index  # (B, H, W)
    target = F.one_hot(torch.where(valid, mask, 0), classes).permute(0, 3, 1, 2).float()
    weight = valid.unsqueeze(1).float()
    dims = (0, 2, 3)
    intersection = (probabilities * target * weight).sum(dims)
    cardinality = ((probabilities + target) * weight).sum(dims)
    dice = (2 * intersection + DICE_SMOOTH) / (cardinality + DICE_SMOOTH)  # (K,)
    if binary:
        return 1 - dice[1]
    present = target.sum(dims) > 0
    return 1 - dice[present].mean() if bool(present.any()) else dice.sum() * 0


def cross_entropy(
    logits: Tensor, mask: Tensor, ignore_index: int, binary: bool, weight: Tensor | None = None
) -> Tensor:
    """Cross-entropy over the labelled pixels (binary: BCE with logits).

    Args:
        logits: ``(B, K, H, W)`` (binary: ``(B, 1, H, W)``).
        mask: ``(B, H, W)`` labels.
        ignore_index: Label of unlabelled pixels.
        binary: Whether the logits are a single foreground channel.
        weight: Optional per-class weights ``(K,)`` (multi-class only).

    Returns:
        A scalar (0 when no pixel is labelled).
    """
    logits = logits.float()
    if not binary:
        return F.cross_entropy(logits, mask, weight=weight, ignore_index=ignore_index)
    valid = mask != ignore_index
    losses = F.binary_cross_entropy_with_logits(
        logits[:, 0], mask.clamp(0, 1).float(), reduction="none"
    )
    return (losses * valid).sum() / valid.sum().clamp(min=1)


def focal_loss(
    logits: Tensor, mask: Tensor, ignore_index: int, binary: bool, gamma: float
) -> Tensor:
    """Focal loss (Lin et al., 2017): cross-entropy scaled by ``(1 - p_t) ** gamma``.

    Args:
        logits: ``(B, K, H, W)`` (binary: ``(B, 1, H, W)``).
        mask: ``(B, H, W)`` labels.
        ignore_index: Label of unlabelled pixels.
        binary: Whether the logits are a single foreground channel.
        gamma: The focusing parameter (0: plain cross-entropy).

    Returns:
        A scalar averaged over the labelled pixels.
    """
    valid = mask != ignore_index
    target = torch.where(valid, mask, 0)
    log_p = _probabilities(logits.float(), binary).clamp_min(1e-12).log()  # (B, K, H, W)
    log_pt = log_p.gather(1, target.unsqueeze(1)).squeeze(1)  # (B, H, W)
    losses = -((1 - log_pt.exp()) ** gamma) * log_pt
    return (losses * valid).sum() / valid.sum().clamp(min=1)


class SegmentationLoss(nn.Module):
    """The configured loss: ``ce``, ``dice``, ``focal`` or ``ce_dice`` (CE + w * Dice).

    Args:
        kind: One of the names above.
        ignore_index: Label of unlabelled pixels.
        binary: Whether the model outputs a single foreground logit.
        class_weights: Optional per-class cross-entropy weights.
        focal_gamma: The focal loss' gamma.
        dice_weight: The Dice term's weight in ``ce_dice``.
    """

    def __init__(
        self,
        kind: str,
        ignore_index: int,
        binary: bool,
        class_weights: tuple[float, ...] | None = None,
        focal_gamma: float = 2.0,
        dice_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.ignore_index = ignore_index
        self.binary = binary
        self.focal_gamma = focal_gamma
        self.dice_weight = dice_weight
        weights = torch.tensor(class_weights) if class_weights is not None else None
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, logits: Tensor, mask: Tensor) -> Tensor:
        """The loss of a batch.

        Args:
            logits: ``(B, K, H, W)`` (binary: ``(B, 1, H, W)``).
            mask: ``(B, H, W)`` labels.

        Returns:
            A scalar.
        """
        args = (logits, mask, self.ignore_index, self.binary)
        weights = self.class_weights
        weight = weights.to(logits.device) if isinstance(weights, Tensor) else None
        if self.kind == "dice":
            return dice_loss(*args)
        if self.kind == "focal":
            return focal_loss(*args, self.focal_gamma)
        loss = cross_entropy(*args, weight=weight)
        if self.kind == "ce_dice":
            loss = loss + self.dice_weight * dice_loss(*args)
        return loss
