"""Train and evaluation transforms, registered by augmentation preset name."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.transforms import v2

from .config import DataConfig

TransformList = list[v2.Transform]

_EVAL_CROP_RATIO = 0.875


def _imagenet(size: int) -> TransformList:
    return [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]


def _cifar(size: int) -> TransformList:
    return [
        v2.Resize(size, antialias=True),
        v2.RandomCrop(size, padding=max(1, size // 8)),
        v2.RandomHorizontalFlip(),
    ]


def _digits(size: int) -> TransformList:
    # No flips: a mirrored digit is another symbol.
    return [v2.Resize(size, antialias=True), v2.RandomCrop(size, padding=max(1, size // 14))]


def _none(size: int) -> TransformList:
    return [v2.Resize(size, antialias=True)]


AUGMENTATIONS: dict[str, Callable[[int], TransformList]] = {
    "imagenet": _imagenet,
    "cifar": _cifar,
    "digits": _digits,
    "none": _none,
}


def _to_normalized_tensor(config: DataConfig) -> TransformList:
    return [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(config.mean), std=list(config.std)),
    ]


def train_transform(config: DataConfig) -> v2.Compose:
    """The training pipeline: augmentation preset, then tensor conversion and normalisation.

    Args:
        config: The data config (``augment``, ``randaugment_magnitude``, ``random_erasing``,
            ``image_size``, ``mean``, ``std``).

    Returns:
        A transform from a PIL image or a ``(C, H, W)`` tensor in [0, 1] to a normalised
        ``(C, image_size, image_size)`` float tensor.

    Raises:
        ValueError: If the augmentation preset is unknown.
    """
    if config.augment not in AUGMENTATIONS:
        raise ValueError(f"data.augment={config.augment!r} is not one of {sorted(AUGMENTATIONS)}")
    steps = [v2.ToImage(), *AUGMENTATIONS[config.augment](config.image_size)]
    if config.randaugment_magnitude is not None:
        # torchvision's RandAugment (Cubuk et al. 2020) on uint8 images, before scaling; DeiT
        # uses timm's rand-m9-mstd0.5, the closest here is 2 ops at magnitude 9.
        steps.append(v2.RandAugment(num_ops=2, magnitude=config.randaugment_magnitude))
    steps.extend(_to_normalized_tensor(config))
    if config.random_erasing > 0:
        # Zhong et al. 2020, on the normalised tensor as in DeiT (erased values become 0).
        steps.append(v2.RandomErasing(p=config.random_erasing))
    return v2.Compose(steps)


def eval_transform(config: DataConfig) -> v2.Compose:
    """The evaluation pipeline: resize (and center-crop for ImageNet-style data), normalise.

    Args:
        config: The data config.

    Returns:
        A deterministic transform to a normalised ``(C, image_size, image_size)`` tensor.
    """
    size = config.image_size
    if config.augment == "imagenet":
        steps: TransformList = [
            v2.ToImage(),
            v2.Resize(int(round(size / _EVAL_CROP_RATIO)), antialias=True),
            v2.CenterCrop(size),
        ]
    else:
        steps = [v2.ToImage(), v2.Resize(size, antialias=True), v2.CenterCrop(size)]
    return v2.Compose([*steps, *_to_normalized_tensor(config)])
