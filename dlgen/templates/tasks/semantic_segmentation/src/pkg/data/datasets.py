"""Segmentation datasets: synthetic shapes, image+mask folders and four public benchmarks.

Every dataset yields ``(image (C, S, S) float32, mask (S, S) int64)`` with labels in
``[0, num_classes)`` (binary: 0 and 1) and ``ignore_index`` where a pixel has no label.

Sources (``data.source``):
    synthetic   Shapes on textured noise with exact masks; offline, and learnable, so a
                run shows real progress without any download.
    folder      ``<root>/images/<name>.<ext>`` with ``<root>/masks/<name>.png`` (palette or
                grayscale values = labels; binary: every non-zero pixel is foreground), or
                the same layout under ``<root>/train``, ``<root>/val`` and ``<root>/test``.
    oxford_pet  torchvision's Oxford-IIIT Pet trimaps: pet, background, border (binary:
                pet vs background, the border ignored).
    pascal_voc  torchvision's VOC 2012 segmentation (21 classes, 255 on object borders).
    cityscapes  torchvision's Cityscapes fine annotations, mapped to the 19 train ids.
    ade20k      The ADEChallengeData2016 folder (150 classes; label 0, "other", ignored).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Subset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .transforms import JointTransform, eval_transform, train_transform

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Cityscapes label ids -> train ids (the 19 evaluated classes); every other id is ignored.
CITYSCAPES_TRAIN_IDS = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}  # fmt: skip
CLASS_NAMES = {
    "oxford_pet": ("pet", "background", "border"),
    "pascal_voc": (
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
        "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
        "sheep", "sofa", "train", "tvmonitor",
    ),
    "cityscapes": (
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
        "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
        "bus", "train", "motorcycle", "bicycle",
    ),
}  # fmt: skip

LabelMap = Callable[[np.ndarray], np.ndarray]


class SyntheticShapes(Dataset[tuple[Tensor, Tensor]]):
    """Random discs, squares and triangles on textured noise, with their exact masks.

    Each class has its own shape and colour (class 0 is the background; binary: every
    shape is foreground), so the labels are learnable from local evidence. Sample ``i``
    depends only on ``(seed, i)``: every epoch and process sees the same data.

    Args:
        size: Number of samples.
        data: The data config (channels, image size, classes, normalisation).
        seed: Seed of the split.
    """

    def __init__(self, size: int, data: DataConfig, seed: int) -> None:
        self.size = size
        self.data = data
        self.seed = seed
        palette = np.random.default_rng(1234).uniform(0.2, 1.0, (data.label_count, 3))
        self.palette = palette.astype(np.float32)

    def __len__(self) -> int:
        """Number of samples."""
        return self.size

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Sample ``index``: ``(image (C, S, S), mask (S, S))``."""
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} samples")
        data = self.data
        side = data.image_size
        rng = np.random.default_rng([self.seed, index])
        mask = np.zeros((side, side), np.int64)
        rows, cols = np.mgrid[0:side, 0:side]
        for _ in range(int(rng.integers(1, 4))):
            label = int(rng.integers(1, data.label_count))
            shape = label % 3 if not data.binary else int(rng.integers(0, 3))
            radius = rng.uniform(0.12, 0.3) * side
            cy, cx = rng.uniform(radius, side - radius, 2)
            if shape == 0:
                inside = (rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2
            elif shape == 1:
                inside = (abs(rows - cy) <= radius * 0.8) & (abs(cols - cx) <= radius * 0.8)
            else:
                inside = (rows - cy + radius >= 0) & (abs(cols - cx) <= (rows - cy + radius) / 2)
                inside &= rows <= cy + radius
            mask[inside] = label
        colours = self.palette[mask]  # (S, S, 3)
        noise = rng.normal(0.0, 0.08, (side, side, 3)).astype(np.float32)
        pixels = np.clip(colours * 0.8 + 0.1 + noise, 0.0, 1.0)
        channels = pixels.mean(axis=2, keepdims=True) if data.in_channels == 1 else pixels
        if data.in_channels not in (1, 3):
            channels = np.repeat(pixels.mean(axis=2, keepdims=True), data.in_channels, axis=2)
        image = torch.from_numpy(channels).permute(2, 0, 1)
        mean = torch.tensor(data.mean).view(-1, 1, 1)
        std = torch.tensor(data.std).view(-1, 1, 1)
        return (image - mean) / std, torch.from_numpy(mask)


class PairedImages(Dataset[tuple[Tensor, Tensor]]):
    """Image and mask files side by side, with a joint transform.

    Args:
        pairs: ``(image path, mask path)`` per sample.
        transform: The joint transform.
        label_map: Maps a mask's stored values to labels (and ``ignore_index``).
        mode: PIL mode the images are converted to (``"RGB"`` or ``"L"``).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        transform: JointTransform,
        label_map: LabelMap,
        mode: str,
    ) -> None:
        self.pairs = list(pairs)
        self.transform = transform
        self.label_map = label_map
        self.mode = mode

    def __len__(self) -> int:
        """Number of pairs."""
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Pair ``index``, transformed: ``(image (C, S, S), mask (S, S))``."""
        image_path, mask_path = self.pairs[index]
        with Image.open(image_path) as image:
            decoded = image.convert(self.mode)
        with Image.open(mask_path) as mask:
            labels = self.label_map(np.array(mask))
        return self.transform(decoded, torch.from_numpy(labels))


class TorchvisionPairs(Dataset[tuple[Tensor, Tensor]]):
    """A torchvision dataset of ``(PIL image, PIL mask)`` with a label map and transform.

    Args:
        base: The torchvision dataset.
        transform: The joint transform.
        label_map: Maps the stored mask values to labels.
        mode: PIL mode the images are converted to.
    """

    def __init__(
        self, base: Dataset[Any], transform: JointTransform, label_map: LabelMap, mode: str
    ) -> None:
        self.base = base
        self.transform = transform
        self.label_map = label_map
        self.mode = mode

    def __len__(self) -> int:
        """Number of samples of the wrapped dataset."""
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Sample ``index``, transformed: ``(image (C, S, S), mask (S, S))``."""
        image, mask = self.base[index]
        labels = self.label_map(np.array(mask))
        return self.transform(image.convert(self.mode), torch.from_numpy(labels))


def _mode(data: DataConfig) -> str:
    return "L" if data.in_channels == 1 else "RGB"


def _identity_labels(data: DataConfig) -> LabelMap:
    def labels(mask: np.ndarray) -> np.ndarray:
        if mask.ndim == 3:  # an RGB mask: its first channel holds the labels
            mask = mask[..., 0]
        values = mask.astype(np.int64)
        if data.binary:
            return (values > 0).astype(np.int64)
        invalid = (values >= data.num_classes) & (values != data.ignore_index)
        values[invalid] = data.ignore_index
        return values

    return labels


def _trimap_labels(data: DataConfig) -> LabelMap:
    """Oxford-IIIT Pet trimaps (1 pet, 2 background, 3 border) to labels."""

    def labels(mask: np.ndarray) -> np.ndarray:
        values = mask.astype(np.int64) - 1  # 0 pet, 1 background, 2 border
        if data.binary:
            binary = (values == 0).astype(np.int64)
            binary[values == 2] = data.ignore_index
            return binary
        return values

    return labels


def _cityscapes_labels(data: DataConfig) -> LabelMap:
    lookup = np.full(256, data.ignore_index, np.int64)
    for label_id, train_id in CITYSCAPES_TRAIN_IDS.items():
        lookup[label_id] = train_id
    return lambda mask: lookup[mask.astype(np.int64)]


def _ade_labels(data: DataConfig) -> LabelMap:
    def labels(mask: np.ndarray) -> np.ndarray:
        values = mask.astype(np.int64) - 1
        values[values < 0] = data.ignore_index
        return values

    return labels


def folder_pairs(root: Path) -> list[tuple[Path, Path]]:
    """Pair ``root/images/<name>.*`` with ``root/masks/<name>.png``.

    Args:
        root: A folder holding ``images/`` and ``masks/``.

    Returns:
        The pairs, sorted by name.

    Raises:
        FileNotFoundError: If a folder is missing, empty, or an image has no mask.
    """
    images, masks = root / "images", root / "masks"
    for folder in (images, masks):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"segmentation folder {folder} not found: the folder source expects "
                f"{root}/images/<name>.<ext> and {root}/masks/<name>.png (or data.source="
                "synthetic)"
            )
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{images} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    pairs = []
    for image in files:
        mask = masks / f"{image.stem}.png"
        if not mask.is_file():
            raise FileNotFoundError(f"{image} has no mask: expected {mask}")
        pairs.append((image, mask))
    return pairs


def _holdout(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    held = max(1, math.ceil(size * fraction)) if fraction > 0 else 0
    return sorted(order[held:]), sorted(order[:held])


def _folder_splits(data: DataConfig) -> DataSplits:
    root, mode, labels = Path(data.root), _mode(data), _identity_labels(data)
    train_t, eval_t = train_transform(data), eval_transform(data)
    if (root / "train").is_dir():
        train = PairedImages(folder_pairs(root / "train"), train_t, labels, mode)
        val_pairs = folder_pairs(root / "val") if (root / "val").is_dir() else None
        test = (
            PairedImages(folder_pairs(root / "test"), eval_t, labels, mode)
            if (root / "test").is_dir()
            else None
        )
        if val_pairs is not None:
            return DataSplits(train, PairedImages(val_pairs, eval_t, labels, mode), test)
        pairs = folder_pairs(root / "train")
    else:
        pairs, test = folder_pairs(root), None
    kept, held = _holdout(len(pairs), data.val_fraction or 0.1, data.split_seed)
    train = PairedImages([pairs[i] for i in kept], train_t, labels, mode)
    return DataSplits(train, PairedImages([pairs[i] for i in held], eval_t, labels, mode), test)


def _torchvision_splits(data: DataConfig) -> DataSplits:
    from torchvision import datasets

    root, mode = Path(data.root), _mode(data)
    train_t, eval_t = train_transform(data), eval_transform(data)
    try:
        if data.source == "oxford_pet":
            labels = _trimap_labels(data)

            def pets(split: str) -> datasets.OxfordIIITPet:
                return datasets.OxfordIIITPet(
                    str(root), split=split, target_types="segmentation", download=data.download
                )

            trainval = pets("trainval")
            kept, held = _holdout(len(trainval), data.val_fraction, data.split_seed)
            return DataSplits(
                TorchvisionPairs(Subset(trainval, kept), train_t, labels, mode),
                TorchvisionPairs(Subset(pets("trainval"), held), eval_t, labels, mode),
                TorchvisionPairs(pets("test"), eval_t, labels, mode),
            )
        if data.source == "pascal_voc":
            labels = _identity_labels(data)

            def voc(split: str) -> Dataset[Any]:
                return datasets.VOCSegmentation(
                    str(root), year="2012", image_set=split, download=data.download
                )

            return DataSplits(
                TorchvisionPairs(voc("train"), train_t, labels, mode),
                TorchvisionPairs(voc("val"), eval_t, labels, mode),
            )
        labels = _cityscapes_labels(data)

        def city(split: str) -> Dataset[Any]:
            return datasets.Cityscapes(str(root), split=split, mode="fine", target_type="semantic")

        return DataSplits(
            TorchvisionPairs(city("train"), train_t, labels, mode),
            TorchvisionPairs(city("val"), eval_t, labels, mode),
        )
    except RuntimeError as exc:  # torchvision's "Dataset not found or corrupted"
        raise FileNotFoundError(
            f"{data.source} not found under {root} ({exc}); set data.download=true (network), "
            "copy the files there, or use data.source=synthetic"
        ) from exc


def _ade_splits(data: DataConfig) -> DataSplits:
    base, mode, labels = Path(data.root) / "ADEChallengeData2016", _mode(data), _ade_labels(data)

    def split(name: str, transform: JointTransform) -> PairedImages:
        images, masks = base / "images" / name, base / "annotations" / name
        if not images.is_dir() or not masks.is_dir():
            raise FileNotFoundError(
                f"ADE20K not found: expected {images} and {masks} (unpack "
                "ADEChallengeData2016.zip into data.root) or use data.source=synthetic"
            )
        files = sorted(images.glob("*.jpg"))
        return PairedImages([(p, masks / f"{p.stem}.png") for p in files], transform, labels, mode)

    return DataSplits(
        split("training", train_transform(data)), split("validation", eval_transform(data))
    )


def build_datasets(data: DataConfig) -> DataSplits:
    """Create the splits of ``data.source``.

    Args:
        data: The data config.

    Returns:
        Train, validation and (when the source has one) test splits.

    Raises:
        FileNotFoundError: If the files of a source are missing (the message names the
            expected layout).
    """
    if data.source == "synthetic":
        seed = data.split_seed
        return DataSplits(
            SyntheticShapes(data.synthetic_train_size, data, seed),
            SyntheticShapes(data.synthetic_eval_size, data, seed + 1),
            SyntheticShapes(data.synthetic_eval_size, data, seed + 2),
        )
    if data.source == "folder":
        return _folder_splits(data)
    if data.source == "ade20k":
        return _ade_splits(data)
    return _torchvision_splits(data)


def default_class_names(data: DataConfig) -> tuple[str, ...] | None:
    """The class names a source knows, in label order (binary: background, foreground).

    Args:
        data: The data config.

    Returns:
        The names, or None when the source has none.
    """
    if data.binary:
        return ("background", "foreground")
    # By source, else by dataset name (a benchmark's debug or synthetic stand-in keeps them).
    names = CLASS_NAMES.get(data.source) or CLASS_NAMES.get(data.name)
    return names if names is not None and len(names) == data.num_classes else None
