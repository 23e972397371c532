"""Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019) with soft targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def one_hot_smoothed(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """Soft targets from class indices with label smoothing.

    Args:
        labels: ``(B,)`` int64 class indices.
        num_classes: K.
        smoothing: Mass spread uniformly over all classes, in [0, 1).

    Returns:
        ``(B, K)`` float targets whose rows sum to 1.
    """
    off = smoothing / num_classes
    targets = F.one_hot(labels, num_classes).float() * (1.0 - smoothing)
    return targets + off


class MixupCutmix:
    """Mixes each batch with its reversed copy; targets are mixed in the same ratio.

    With both alphas > 0, each batch uses CutMix or Mixup with probability 1/2.
    The mixing ratio is drawn from ``Beta(alpha, alpha)`` with the torch RNG, so
    seeded and resumed runs draw the same ratios.

    Args:
        mixup_alpha: Beta parameter of Mixup; 0 disables it.
        cutmix_alpha: Beta parameter of CutMix; 0 disables it.
        num_classes: K.
        label_smoothing: Applied to the targets before mixing.
    """

    def __init__(
        self, mixup_alpha: float, cutmix_alpha: float, num_classes: int, label_smoothing: float
    ) -> None:
        if mixup_alpha < 0 or cutmix_alpha < 0:
            raise ValueError("mixup_alpha and cutmix_alpha must be >= 0")
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    @property
    def enabled(self) -> bool:
        """Whether any mixing happens."""
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch.

        Args:
            images: ``(B, C, H, W)``.
            labels: ``(B,)`` class indices.

        Returns:
            Mixed images ``(B, C, H, W)`` and soft targets ``(B, K)``.

        Raises:
            ValueError: If the shapes do not match.
        """
        if images.ndim != 4 or labels.shape != images.shape[:1]:
            raise ValueError(
                f"expected images (B, C, H, W) and labels (B,), got {tuple(images.shape)} "
                f"and {tuple(labels.shape)}"
            )
        targets = one_hot_smoothed(labels, self.num_classes, self.label_smoothing)
        if not self.enabled:
            return images, targets
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or bool(torch.rand(()) < 0.5))
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        flipped = images.flip(0)
        if use_cutmix:
            images, lam = _paste_box(images, flipped, lam)
        else:
            images = images * lam + flipped * (1.0 - lam)
        return images, targets * lam + targets.flip(0) * (1.0 - lam)


def _paste_box(images: torch.Tensor, other: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
    """Paste a box covering ``1 - lam`` of the area from ``other``; returns the true ratio."""
    height, width = images.shape[-2:]
    cut = (1.0 - lam) ** 0.5
    box_h, box_w = int(height * cut), int(width * cut)
    center_y = int(torch.randint(height, ()))
    center_x = int(torch.randint(width, ()))
    top, bottom = max(center_y - box_h // 2, 0), min(center_y + box_h // 2, height)
    left, right = max(center_x - box_w // 2, 0), min(center_x + box_w // 2, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = other[..., top:bottom, left:right]
    kept = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, kept
