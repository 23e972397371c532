"""Multichannel signals (e.g. 12-lead ECG): local ``.npy`` arrays or a synthetic source.

Expected layout under ``data.root`` (e.g. PTB-XL after your own preprocessing; nothing is
downloaded): ``x_train.npy`` of shape ``(N, C, L)`` (float) and ``y_train.npy`` of shape
``(N,)`` (integer classes from 0), likewise ``x_val``/``y_val`` and ``x_test``/``y_test``.
Without a validation pair, ``data.val_fraction`` of the training samples is held out.

Channels are standardised with statistics of the training signals only. The synthetic
source draws, per class, a distinct mix of two rhythms with a class-specific pulse, with
random phase, amplitude and noise per sample, so the class is learnable but not trivial.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

SignalArrays = dict[str, tuple[np.ndarray, np.ndarray]]


class SignalDataset(Dataset[tuple[Tensor, Tensor]]):
    """Signals ``(C, L)`` with integer labels, standardised per channel.

    Args:
        signals: Shape ``(N, C, L)``.
        labels: Shape ``(N,)``.
        mean: Per-channel mean to subtract, shape ``(C,)``.
        std: Per-channel standard deviation to divide by, shape ``(C,)``.

    Raises:
        ValueError: If the shapes do not agree.
    """

    def __init__(
        self, signals: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray
    ) -> None:
        if signals.ndim != 3 or labels.shape != signals.shape[:1]:
            raise ValueError(
                f"expected signals (N, C, L) and labels (N,), got {signals.shape} and "
                f"{labels.shape}"
            )
        scaled = (signals - mean[None, :, None]) / std[None, :, None]
        self.signals = torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32))
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        """Number of signals.

        Returns:
            The dataset size.
        """
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """One signal and its label.

        Args:
            index: Sample index.

        Returns:
            ``(signal (C, L) float32, label () int64)``.
        """
        return self.signals[index], self.labels[index]


def channel_statistics(signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (at least ``1e-8``).

    Args:
        signals: Training signals, shape ``(N, C, L)``.

    Returns:
        ``(mean, std)``, each of shape ``(C,)``.
    """
    return signals.mean(axis=(0, 2)), np.maximum(signals.std(axis=(0, 2)), 1e-8)


def synthetic_signals(
    size: int, channels: int, length: int, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic labelled signals with class-dependent rhythm and pulse shape.

    Args:
        size: Number of samples ``N``.
        channels: Channels ``C``.
        length: Steps ``L``.
        num_classes: Number of classes ``K``.
        seed: Seed of the generator.

    Returns:
        ``(signals (N, C, L) float32, labels (N,) int64)``.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=size)
    time = np.linspace(0.0, 1.0, length)[None, None, :]  # (1, 1, L)
    frequency = (3.0 + 2.0 * labels)[:, None, None]  # (N, 1, 1): one rhythm per class
    phase = rng.uniform(0, 2 * np.pi, size=(size, channels, 1))
    gain = rng.uniform(0.5, 1.5, size=(size, channels, 1))
    base = gain * np.sin(2 * np.pi * frequency * time + phase)
    center = ((labels + 0.5) / num_classes)[:, None, None]  # a pulse whose place codes the class
    pulse = np.exp(-(((time - center) / 0.03) ** 2))
    noise = 0.3 * rng.standard_normal((size, channels, length))
    return (base + pulse + noise).astype(np.float32), labels.astype(np.int64)


def read_npy_signals(root: Path) -> SignalArrays:
    """Read ``x_<split>.npy`` / ``y_<split>.npy`` pairs for train, val and test.

    Args:
        root: Folder holding the arrays.

    Returns:
        Split name -> ``(signals, labels)`` for the pairs present.

    Raises:
        FileNotFoundError: If there is no training pair.
    """
    found: SignalArrays = {}
    for split in ("train", "val", "test"):
        x_path, y_path = root / f"x_{split}.npy", root / f"y_{split}.npy"
        if x_path.is_file() and y_path.is_file():
            found[split] = (np.load(x_path).astype(np.float32), np.load(y_path))
    if "train" not in found:
        raise FileNotFoundError(
            f"no x_train.npy/y_train.npy in {root}; save your signals as (N, C, L) and labels "
            "as (N,) arrays there, or use data.source=synthetic"
        )
    return found


def hold_out(arrays: SignalArrays, fraction: float, seed: int) -> SignalArrays:
    """Move a share of the training samples to ``val`` when there is no validation pair.

    Args:
        arrays: Splits with at least ``train``.
        fraction: Share of training samples to hold out, in ``(0, 1)``.
        seed: Seed of the permutation.

    Returns:
        Splits with ``train`` and ``val``.
    """
    if "val" in arrays:
        return arrays
    signals, labels = arrays["train"]
    order = np.random.default_rng(seed).permutation(len(labels))
    size = max(1, round(len(labels) * fraction))
    val, train = order[:size], order[size:]
    return {**arrays, "train": (signals[train], labels[train]), "val": (signals[val], labels[val])}
