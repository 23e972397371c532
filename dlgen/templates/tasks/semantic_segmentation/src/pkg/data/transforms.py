"""Joint image/mask transforms: the same geometry for both, nearest-neighbour for masks.

torchvision's ``transforms.v2`` applies one random draw to every input of a call and
resizes ``tv_tensors.Mask`` with nearest-neighbour interpolation, so labels never blend.
Training: random scale, pad (image 0, mask ``ignore_index``), random crop and horizontal
flip. Evaluation: resize to the square ``image_size`` (a fixed size so batches stack).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torchvision import tv_tensors
from torchvision.transforms import v2

from .config import DataConfig

ImageLike = Image.Image | Tensor
MaskLike = Image.Image | np.ndarray | Tensor
JointTransform = Callable[[ImageLike, MaskLike], tuple[Tensor, Tensor]]


def to_mask(mask: MaskLike) -> tv_tensors.Mask:
    """A label map (PIL image, array or tensor) as an int64 ``(H, W)`` mask.

    Args:
        mask: Labels per pixel (palette or grayscale PNG values).

    Returns:
        The mask.
    """
    values = mask if isinstance(mask, Tensor) else torch.from_numpy(np.array(mask, np.int64))
    return tv_tensors.Mask(values.long())


def _normalize(data: DataConfig) -> list[Any]:
    return [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(data.mean), list(data.std)),
    ]


class _Joint:
    """Apply a v2 pipeline to ``(image, mask)`` and return ``(image (C, H, W), mask (H, W))``."""

    def __init__(self, data: DataConfig, geometry: list[Any]) -> None:
        self.geometry = v2.Compose(geometry)
        self.normalize = v2.Compose(_normalize(data))

    def __call__(self, image: ImageLike, mask: MaskLike) -> tuple[Tensor, Tensor]:
        """Transform one pair.

        Args:
            image: A PIL image or a ``(C, H, W)`` tensor.
            mask: Labels ``(H, W)``.

        Returns:
            ``(image (C, H', W') float, mask (H', W') int64)``.
        """
        image_t = v2.functional.to_image(image)
        image_t, mask_t = self.geometry(image_t, to_mask(mask))
        return self.normalize(image_t), mask_t.as_subclass(Tensor)


def train_transform(data: DataConfig) -> JointTransform:
    """Random scale, padded random crop of ``image_size`` and horizontal flip.

    Args:
        data: The data config.

    Returns:
        A callable ``(image, mask) -> (image (C, S, S) float, mask (S, S) int64)``.
    """
    size = data.image_size
    low, high = data.scale_range
    geometry: list[Any] = [
        v2.RandomResize(max(1, int(size * low)), max(2, int(size * high) + 1)),
        v2.RandomCrop(
            size, pad_if_needed=True, fill={tv_tensors.Image: 0, tv_tensors.Mask: data.ignore_index}
        ),
    ]
    if data.hflip:
        geometry.append(v2.RandomHorizontalFlip())
    return _Joint(data, geometry)


def eval_transform(data: DataConfig) -> JointTransform:
    """Resize to ``image_size`` x ``image_size`` (nearest-neighbour for the mask).

    Args:
        data: The data config.

    Returns:
        A callable ``(image, mask) -> (image (C, S, S) float, mask (S, S) int64)``.
    """
    return _Joint(data, [v2.Resize((data.image_size, data.image_size))])


def image_transform(data: DataConfig) -> Callable[[ImageLike], Tensor]:
    """The normalisation alone, for inference on images of any size.

    Args:
        data: The data config.

    Returns:
        A callable ``image -> (C, H, W)`` float tensor.
    """
    return v2.Compose(_normalize(data))
