"""Operator-learning data sources, registered by ``data.source``, and their splits.

``generator`` solves the PDE (Darcy flow, Burgers) for random inputs and caches the result;
``mat`` reads Li et al.'s benchmark files; ``synthetic`` makes random smooth fields with a
simple learnable map (no PDE, for tests). Inputs are normalised with statistics fitted on
the training split; targets are kept in physical units, so losses and metrics are reported
on decoded predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .generators import generate
from .mat_files import read_benchmark
from .normalizer import GaussianNormalizer

Sample = tuple[Tensor, Tensor]
SplitArrays = dict[str, tuple[np.ndarray, np.ndarray]]
SPLITS = ("train", "val", "test")
SYNTHETIC_MODES = 4


class FieldDataset(Dataset[Sample]):
    """Pairs of (normalised input field, target field) held in memory.

    Args:
        x: Inputs of shape ``(N, C_in, *grid)``, already normalised.
        y: Targets of shape ``(N, C_out, *grid)``, in physical units.
    """

    def __init__(self, x: Tensor, y: Tensor) -> None:
        if x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[2:]:
            raise ValueError(
                f"inputs {tuple(x.shape)} and targets {tuple(y.shape)} need the same number "
                "of samples and the same grid"
            )
        self.x = x
        self.y = y

    def __len__(self) -> int:
        """Number of samples.

        Returns:
            N.
        """
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> Sample:
        """One sample.

        Args:
            index: Sample index.

        Returns:
            ``(x, y)`` of shapes ``(C_in, *grid)`` and ``(C_out, *grid)``.
        """
        return self.x[index], self.y[index]


@dataclass
class FieldData:
    """The splits of a run and the normalisers fitted on its training split.

    Attributes:
        splits: Train, validation and test datasets (inputs normalised).
        x_normalizer: Normalises the inputs.
        y_normalizer: Normalises the targets (the model predicts normalised targets).
    """

    splits: DataSplits
    x_normalizer: GaussianNormalizer
    y_normalizer: GaussianNormalizer


def split_seed(seed: int, split: str) -> int:
    """The seed of one split: distinct for every ``(seed, split)`` pair.

    Args:
        seed: ``data.seed``.
        split: ``train``, ``val`` or ``test``.

    Returns:
        The split's seed.
    """
    return seed * len(SPLITS) + SPLITS.index(split)


def synthetic_fields(config: DataConfig, num_samples: int, seed: int) -> dict[str, np.ndarray]:
    """Random smooth inputs and a fixed nonlinear map of them (no PDE).

    Args:
        config: Shapes come from it.
        num_samples: Number of pairs.
        seed: Seed of the inputs.

    Returns:
        ``x`` ``(N, C_in, *grid)`` and ``y = tanh(mean over input channels)`` broadcast to
        ``(N, C_out, *grid)``, float32.
    """
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((num_samples, *config.input_shape), generator=generator)
    axes = tuple(range(2, noise.ndim))
    spectrum = torch.fft.rfftn(noise, dim=axes)
    for axis in axes:  # keep only the lowest frequencies of every axis
        index = torch.arange(spectrum.shape[axis])
        frequency = torch.minimum(index, noise.shape[axis] - index) if axis != axes[-1] else index
        keep = (frequency < SYNTHETIC_MODES).to(spectrum.real.dtype)
        spectrum = spectrum * keep.view([-1 if a == axis else 1 for a in range(noise.ndim)])
    x = torch.fft.irfftn(spectrum, s=noise.shape[2:], dim=axes)
    x = x / x.flatten(1).std(dim=1).clamp_min(1e-6).view(-1, *([1] * (x.ndim - 1)))
    y = torch.tanh(x.mean(dim=1, keepdim=True)).expand(-1, config.out_channels, *x.shape[2:])
    return {"x": x.float().numpy(), "y": y.float().contiguous().numpy()}


def _from_generator(config: DataConfig) -> SplitArrays:
    sizes = {"train": config.num_train, "val": config.num_val, "test": config.num_test}
    arrays = {}
    for split in SPLITS:
        generated = generate(config, sizes[split], split_seed(config.seed, split))
        arrays[split] = (generated["x"], generated["y"])
    return arrays


def _from_synthetic(config: DataConfig) -> SplitArrays:
    sizes = {"train": config.num_train, "val": config.num_val, "test": config.num_test}
    arrays = {}
    for split in SPLITS:
        generated = synthetic_fields(config, sizes[split], split_seed(config.seed, split))
        arrays[split] = (generated["x"], generated["y"])
    return arrays


def _from_mat(config: DataConfig) -> SplitArrays:
    """Train and val from the head of ``path``; test from ``test_path`` or the tail of ``path``."""
    assert config.path is not None  # checked by DataConfig
    x, y = read_benchmark(config.path, config)
    head = config.num_train + config.num_val
    if config.test_path:
        test_x, test_y = read_benchmark(config.test_path, config)
        needed = {"path": (x.shape[0], head), "test_path": (test_x.shape[0], config.num_test)}
    else:
        test_x, test_y = x[-config.num_test :], y[-config.num_test :]
        needed = {"path": (x.shape[0], head + config.num_test)}
    for key, (have, want) in needed.items():
        if have < want:
            raise ValueError(
                f"data.{key} holds {have} samples but {want} are needed; lower "
                "data.num_train, data.num_val or data.num_test"
            )
    return {
        "train": (x[: config.num_train], y[: config.num_train]),
        "val": (x[config.num_train : head], y[config.num_train : head]),
        "test": (test_x[: config.num_test], test_y[: config.num_test]),
    }


SOURCES: dict[str, Callable[[DataConfig], SplitArrays]] = {
    "generator": _from_generator,
    "mat": _from_mat,
    "synthetic": _from_synthetic,
}


def _normalizers(config: DataConfig, x: Tensor, y: Tensor) -> tuple[GaussianNormalizer, ...]:
    stats = config.normalization
    if stats is None:
        return GaussianNormalizer.fit(x), GaussianNormalizer.fit(y)
    return (
        GaussianNormalizer(stats["x_mean"], stats["x_std"]),
        GaussianNormalizer(stats["y_mean"], stats["y_std"]),
    )


def build_datasets(config: DataConfig) -> FieldData:
    """Load or generate the splits of ``data.source`` and fit the normalisers.

    Args:
        config: The data config.

    Returns:
        The splits (inputs normalised) and the normalisers.

    Raises:
        ValueError: If a split's shapes differ from the configured ones.
    """
    arrays = SOURCES[config.source](config)
    tensors: dict[str, tuple[Tensor, Tensor]] = {}
    for split, (x, y) in arrays.items():
        if tuple(x.shape[1:]) != config.input_shape or tuple(y.shape[1:]) != config.output_shape:
            raise ValueError(
                f"{split} split has inputs {tuple(x.shape[1:])} and targets "
                f"{tuple(y.shape[1:])}; the config expects {config.input_shape} and "
                f"{config.output_shape} (check data.dims, channels and resolution)"
            )
        tensors[split] = (
            torch.from_numpy(np.asarray(x, np.float32)),
            torch.from_numpy(np.asarray(y, np.float32)),
        )
    x_norm, y_norm = _normalizers(config, *tensors["train"])
    datasets = {
        split: FieldDataset(x_norm.encode(x), y.float()) for split, (x, y) in tensors.items()
    }
    splits = DataSplits(train=datasets["train"], val=datasets["val"], test=datasets["test"])
    return FieldData(splits, x_norm, y_norm)
