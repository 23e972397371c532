"""Image classification data sources, registered by ``data.source``.

``synthetic`` needs nothing on disk; ``sklearn`` is scikit-learn's bundled 8x8 digits
(no download); ``torchvision`` covers MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100, SVHN and
STL-10; ``imagefolder`` reads ``<root>/<split>/<class>/<image>`` trees such as ImageNet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset, Subset
from torchvision import datasets as tv_datasets
from torchvision.transforms import v2

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .transforms import eval_transform, train_transform

Sample = tuple[torch.Tensor, torch.Tensor]
_DIGITS_MAX = 16.0
_DIGITS_TEST_FRACTION = 0.3
_NOISE_SCALE = 0.5


class SyntheticImages(Dataset[Sample]):
    """Random images with learnable class structure: a class prototype plus noise.

    A prototype is a spatial pattern plus a per-channel offset, so classes stay apart
    even after global pooling; the noise has half the prototypes' scale.

    Sample ``i`` depends only on ``(seed, i)``, so any worker produces it identically.

    Args:
        length: Number of samples.
        channels: Image channels C.
        size: Image side H = W.
        num_classes: Number of classes; labels cycle through them.
        seed: Seed of the prototypes (shared by every split) and of the noise.
        split: Distinguishes the noise of the train (0), val (1) and test (2) splits.
    """

    def __init__(
        self, length: int, channels: int, size: int, num_classes: int, seed: int, split: int = 0
    ) -> None:
        if min(length, channels, size, num_classes) < 1:
            raise ValueError("synthetic data needs length, channels, size and classes >= 1")
        generator = torch.Generator().manual_seed(seed)
        pattern = torch.randn(num_classes, channels, size, size, generator=generator)
        offset = torch.randn(num_classes, channels, 1, 1, generator=generator)
        self.prototypes = pattern + offset
        self.length = length
        self.num_classes = num_classes
        self.noise_seed = (seed * 1_000_003 + split) * 10_000_019

    def __len__(self) -> int:
        """Number of samples.

        Returns:
            The length given at construction.
        """
        return self.length

    def __getitem__(self, index: int) -> Sample:
        """One image and its label.

        Args:
            index: Sample index in ``[0, len)``.

        Returns:
            ``(image, label)``: a ``(C, H, W)`` float tensor and an int64 scalar.

        Raises:
            IndexError: If the index is out of range.
        """
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        label = index % self.num_classes
        generator = torch.Generator().manual_seed(self.noise_seed + index)
        noise = torch.randn(self.prototypes.shape[1:], generator=generator)
        image = self.prototypes[label] + _NOISE_SCALE * noise
        return image, torch.tensor(label, dtype=torch.long)


class TensorImages(Dataset[Sample]):
    """Images held in memory as a ``(N, C, H, W)`` tensor in [0, 1], with a transform.

    Args:
        images: The images.
        labels: ``(N,)`` class indices.
        transform: Applied to each ``(C, H, W)`` image.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        transform: Callable[[torch.Tensor], torch.Tensor],
    ) -> None:
        if images.ndim != 4 or labels.shape != images.shape[:1]:
            raise ValueError(
                f"expected images (N, C, H, W) and labels (N,), got {tuple(images.shape)} "
                f"and {tuple(labels.shape)}"
            )
        self.images = images
        self.labels = labels.long()
        self.transform = transform

    def __len__(self) -> int:
        """Number of samples.

        Returns:
            N.
        """
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> Sample:
        """One transformed image and its label.

        Args:
            index: Sample index.

        Returns:
            ``(image, label)``.
        """
        return self.transform(self.images[index]), self.labels[index]


def split_indices(length: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Split ``range(length)`` into a kept part and a held-out part, reproducibly.

    Args:
        length: Number of samples.
        fraction: Share held out, in [0, 1).
        seed: Seed of the permutation.

    Returns:
        ``(kept, held_out)`` index lists, each sorted.
    """
    order = torch.randperm(length, generator=torch.Generator().manual_seed(seed)).tolist()
    held = int(round(length * fraction))
    return sorted(order[held:]), sorted(order[:held])


def _with_val(
    config: DataConfig, train: Dataset[Sample], train_eval: Dataset[Sample], length: int
) -> tuple[Dataset[Sample], Dataset[Sample]]:
    """Carve the validation split out of the training split (evaluated without augmentation)."""
    kept, held = split_indices(length, config.val_fraction, config.split_seed)
    if not held:
        raise ValueError("data.val_fraction leaves no validation sample; raise it")
    return Subset(train, kept), Subset(train_eval, held)


def _synthetic(config: DataConfig) -> DataSplits:
    def make(length: int, split: int) -> SyntheticImages:
        return SyntheticImages(
            length,
            config.in_channels,
            config.image_size,
            config.num_classes,
            config.split_seed,
            split,
        )

    return DataSplits(
        train=make(config.synthetic_train_size, 0),
        val=make(config.synthetic_eval_size, 1),
        test=make(config.synthetic_eval_size, 2),
    )


def _sklearn_digits(config: DataConfig) -> DataSplits:
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError(
            "data.source=sklearn reads scikit-learn's digits; install it with "
            "pip install -e '.[sklearn]' (or pip install scikit-learn)"
        ) from exc

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / _DIGITS_MAX
    labels = torch.tensor(digits.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(
        list(range(len(labels))),
        test_size=_DIGITS_TEST_FRACTION,
        random_state=0,
        stratify=labels.numpy(),
    )
    if config.in_channels != 1:
        images = images.expand(-1, config.in_channels, -1, -1)
    train_images, train_labels = images[train_idx], labels[train_idx]
    train = TensorImages(train_images, train_labels, train_transform(config))
    train_eval = TensorImages(train_images, train_labels, eval_transform(config))
    test = TensorImages(images[test_idx], labels[test_idx], eval_transform(config))
    train_part, val = _with_val(config, train, train_eval, len(train_labels))
    return DataSplits(train=train_part, val=val, test=test)


_TORCHVISION = {
    "mnist": tv_datasets.MNIST,
    "fashion_mnist": tv_datasets.FashionMNIST,
    "cifar10": tv_datasets.CIFAR10,
    "cifar100": tv_datasets.CIFAR100,
    "svhn": tv_datasets.SVHN,
    "stl10": tv_datasets.STL10,
}
# Datasets whose torchvision class takes ``split="train"|"test"`` instead of ``train=``.
_SPLIT_ARGUMENT = ("svhn", "stl10")
_MNIST_FILES = (
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte"
)
# What torchvision expects under data.root, and where the files can be downloaded by hand.
_LAYOUTS = {
    "mnist": (
        f"<root>/MNIST/raw/ holding {_MNIST_FILES}",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    "fashion_mnist": (
        f"<root>/FashionMNIST/raw/ holding {_MNIST_FILES}",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar10": (
        "<root>/cifar-10-batches-py/ (cifar-10-python.tar.gz extracted)",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    ),
    "cifar100": (
        "<root>/cifar-100-python/ (cifar-100-python.tar.gz extracted)",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    ),
    "svhn": (
        "<root>/train_32x32.mat and <root>/test_32x32.mat (reading them needs scipy)",
        "http://ufldl.stanford.edu/housenumbers/",
    ),
    "stl10": (
        "<root>/stl10_binary/ (stl10_binary.tar.gz extracted)",
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
    ),
}


def _missing_torchvision_data(config: DataConfig, error: Exception) -> FileNotFoundError:
    """The error for a torchvision dataset that is neither on disk nor downloadable.

    Args:
        config: The data config (``name``, ``root``, ``download``).
        error: What torchvision raised.

    Returns:
        An error saying what happened, the expected layout and where to get the files.
    """
    layout, url = _LAYOUTS[config.name]
    layout = layout.replace("<root>", str(Path(config.root)))
    reason = " ".join(str(error).split()) or type(error).__name__
    if config.download:
        return FileNotFoundError(
            f"downloading {config.name} into {config.root} failed ({reason}); if this machine "
            f"has no network access, fetch the files from {url} on one that has and put them "
            f"in place: {layout} (the downloaded archives in that place work too)"
        )
    return FileNotFoundError(
        f"{config.name} is not in {config.root} ({reason}); set data.download=true to "
        f"download it, or put the files from {url} in place: {layout}"
    )


def _torchvision(config: DataConfig) -> DataSplits:
    if config.name not in _TORCHVISION:
        raise ValueError(
            f"data.source=torchvision supports {sorted(_TORCHVISION)}, not {config.name!r}; "
            "use source=imagefolder for other image trees"
        )
    dataset_class = _TORCHVISION[config.name]
    root = str(Path(config.root))

    def load(train: bool, transform: v2.Compose) -> Dataset[Sample]:
        try:
            if config.name in _SPLIT_ARGUMENT:
                split = "train" if train else "test"
                return dataset_class(
                    root, split=split, transform=transform, download=config.download
                )
            return dataset_class(root, train=train, transform=transform, download=config.download)
        except ImportError as exc:
            raise ImportError(
                f"reading {config.name} needs {exc.name or 'a missing package'}; "
                f"install it (pip install {exc.name or 'scipy'})"
            ) from exc
        except (RuntimeError, OSError) as exc:
            raise _missing_torchvision_data(config, exc) from exc

    train = load(True, train_transform(config))
    train_eval = load(True, eval_transform(config))
    test = load(False, eval_transform(config))
    train_part, val = _with_val(config, train, train_eval, len(train))  # type: ignore[arg-type]
    return DataSplits(train=train_part, val=val, test=test)


def dataset_class_names(dataset: object) -> tuple[str, ...] | None:
    """The class names a dataset knows (ImageFolder's folders, torchvision's class list).

    Args:
        dataset: A training dataset, possibly a :class:`~torch.utils.data.Subset` of one.

    Returns:
        The names in label order, or None when the dataset has none.
    """
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    if isinstance(dataset, tv_datasets.ImageFolder | tv_datasets.STL10):
        return tuple(str(name) for name in dataset.classes)
    if isinstance(dataset, tv_datasets.MNIST | tv_datasets.CIFAR10):
        return tuple(str(name) for name in dataset.classes)
    return None


class ImageLoader:
    """Opens an image file as PIL in the configured colour mode (``L`` or ``RGB``).

    Args:
        channels: 1 for grayscale, otherwise RGB.
    """

    def __init__(self, channels: int) -> None:
        self.mode = "L" if channels == 1 else "RGB"

    def __call__(self, path: str) -> Image.Image:
        """Load one image.

        Args:
            path: Image file.

        Returns:
            The decoded image in ``self.mode``.
        """
        with open(path, "rb") as handle:
            return Image.open(handle).convert(self.mode)


_IMAGEFOLDER_LAYOUT = (
    "expected <root>/train/<class>/<image> and <root>/val/<class>/<image> (optional "
    "<root>/test/<class>/<image>), one folder per class with the same class folders in "
    "every split; for ImageNet move each image of the official flat val/ into the folder of "
    "its synset (e.g. val/n01440764/ILSVRC2012_val_00000293.JPEG, from the devkit's "
    "validation labels)"
)


def _imagefolder_split(
    root: Path, split: str, transform: v2.Compose, loader: ImageLoader
) -> tv_datasets.ImageFolder:
    """Read one split of an ImageFolder tree, with a clear error when it is not one.

    Args:
        root: The data root.
        split: ``train``, ``val`` or ``test``.
        transform: Applied to every image.
        loader: Opens the image files.

    Returns:
        The dataset.

    Raises:
        FileNotFoundError: If the split has no class folder with images.
    """
    folder = root / split
    try:
        return tv_datasets.ImageFolder(str(folder), transform=transform, loader=loader)
    except FileNotFoundError as exc:
        loose = [p for p in folder.iterdir() if p.is_file()][:1]
        hint = f" ({folder} holds images directly, not class folders)" if loose else ""
        reason = " ".join(str(exc).split())
        raise FileNotFoundError(f"{folder}: {reason}{hint}; {_IMAGEFOLDER_LAYOUT}") from exc


def _imagefolder(config: DataConfig) -> DataSplits:
    root = Path(config.root)
    loader = ImageLoader(config.in_channels)

    def folder(split: str, transform: v2.Compose) -> tv_datasets.ImageFolder:
        return _imagefolder_split(root, split, transform, loader)

    if not (root / "train").is_dir():
        where = f"data.root={root} does not exist" if not root.is_dir() else f"{root} has no train/"
        raise FileNotFoundError(
            f"image folder not found: {where}; {_IMAGEFOLDER_LAYOUT} (set data.root, or "
            "data.source=synthetic to try the pipeline without data)"
        )
    train = folder("train", train_transform(config))
    if len(train.classes) != config.num_classes:
        raise ValueError(
            f"{root / 'train'} has {len(train.classes)} class folders but "
            f"data.num_classes={config.num_classes}; make them agree"
        )
    test = None
    if (root / "test").is_dir():
        test = folder("test", eval_transform(config))
    if (root / "val").is_dir():
        val_folder = folder("val", eval_transform(config))
        if val_folder.classes != train.classes:
            raise ValueError(
                f"{root / 'val'} has {len(val_folder.classes)} class folders that differ from "
                f"the {len(train.classes)} of {root / 'train'}; {_IMAGEFOLDER_LAYOUT}"
            )
        val: Dataset[Sample] = val_folder
        return DataSplits(train=train, val=val, test=test if test is not None else val)
    train_eval = folder("train", eval_transform(config))
    train_part, val = _with_val(config, train, train_eval, len(train))
    return DataSplits(train=train_part, val=val, test=test)


SOURCES: dict[str, Callable[[DataConfig], DataSplits]] = {
    "synthetic": _synthetic,
    "sklearn": _sklearn_digits,
    "torchvision": _torchvision,
    "imagefolder": _imagefolder,
}


def build_datasets(config: DataConfig) -> DataSplits:
    """Create the train, validation and test datasets of ``data.source``.

    Args:
        config: The data config.

    Returns:
        The splits; every sample is ``(image (C, H, W) float, label int64)``.

    Raises:
        ValueError: If the source is unknown or the data contradicts the config.
        FileNotFoundError: If the data is not on disk and cannot be downloaded.
    """
    if config.source not in SOURCES:
        raise ValueError(f"data.source={config.source!r} is not one of {sorted(SOURCES)}")
    return SOURCES[config.source](config)
