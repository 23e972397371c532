"""Build the train/val/test datasets of ``data.source`` for text or signal sequences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .signals import (
    SignalDataset,
    channel_statistics,
    hold_out,
    read_npy_signals,
    synthetic_signals,
)
from .text import (
    EncodedTexts,
    Splits,
    carve_validation,
    check_labels,
    read_local,
    synthetic_splits,
)
from .tokenizer import Tokenizer, build_tokenizer

# Longest synthetic text in words; character tokenizers see about 6 characters a word.
SYNTHETIC_MAX_WORDS = 64
CHARS_PER_WORD = 6


@dataclass
class Prepared:
    """The datasets plus what inference needs to encode new inputs the same way.

    Attributes:
        splits: Train, validation and test datasets.
        tokenizer: The tokenizer built from the training texts (text data).
        mean: Per-channel means of the training signals (signal data).
        std: Per-channel standard deviations of the training signals (signal data).
    """

    splits: DataSplits
    tokenizer: Tokenizer | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


def prepare(data: DataConfig) -> Prepared:
    """Load, split and encode the configured data.

    Args:
        data: The data config.

    Returns:
        The datasets and the fitted tokenizer or normalisation statistics.

    Raises:
        FileNotFoundError: If local files are missing (the message gives the layout).
        ValueError: If labels fall outside ``[0, num_classes)``.
    """
    return prepare_text(data) if data.is_text else prepare_signals(data)


def load_texts(data: DataConfig) -> Splits:
    """The labelled texts of every split (validation carved from train if absent).

    Args:
        data: The data config.

    Returns:
        Split name -> ``(text, label)`` pairs.

    Raises:
        FileNotFoundError: If ``source=text`` and no training texts are found.
    """
    if data.source == "synthetic":
        per_word = CHARS_PER_WORD if data.tokenizer == "char" else 1
        words = min(SYNTHETIC_MAX_WORDS, data.max_length // per_word)
        sizes = {
            "train": data.synthetic_train_size,
            "val": data.synthetic_eval_size,
            "test": data.synthetic_eval_size,
        }
        texts = synthetic_splits(sizes, data.num_classes, data.split_seed, max(12, words))
    else:
        texts = read_local(data.format, Path(data.root))
        if "train" not in texts:
            raise FileNotFoundError(
                f"no {data.format} training texts under {data.root}; see the layout in "
                f"src/.../data/text.py, set data.root, or use data.source=synthetic"
            )
        texts = carve_validation(texts, data.val_fraction, data.split_seed)
    check_labels(texts, data.num_classes)
    return texts


def prepare_text(data: DataConfig) -> Prepared:
    """Tokenize texts with a tokenizer fitted on the training split.

    Args:
        data: The data config.

    Returns:
        Datasets of ``(tokens, length, label)`` samples and the tokenizer.
    """
    texts = load_texts(data)
    tokenizer = build_tokenizer(
        data.tokenizer,
        (text for text, _ in texts["train"]),
        data.vocab_size,
        lowercase=data.lowercase,
        hf_name=data.hf_tokenizer,
        max_length=data.max_length,
        local_layout=data.local_tokenizer,
        # Synthetic texts are checks: a stand-in for a missing pretrained tokenizer is fine.
        allow_local=data.allow_local_tokenizer or data.source == "synthetic",
        source=data.tokenizer_source,
    )
    encoded = {
        name: EncodedTexts(pairs, tokenizer, data.max_length) for name, pairs in texts.items()
    }
    splits = DataSplits(encoded["train"], encoded["val"], encoded.get("test"))
    return Prepared(splits, tokenizer=tokenizer)


def prepare_signals(data: DataConfig) -> Prepared:
    """Standardise signals with statistics of the training split.

    Args:
        data: The data config.

    Returns:
        Datasets of ``(signal, label)`` samples and the statistics.

    Raises:
        ValueError: If the arrays' channels or length differ from the config.
    """
    if data.source == "synthetic":
        shape = (data.in_channels, data.sequence_length, data.num_classes)
        arrays = {
            "train": synthetic_signals(data.synthetic_train_size, *shape, data.split_seed),
            "val": synthetic_signals(data.synthetic_eval_size, *shape, data.split_seed + 1),
            "test": synthetic_signals(data.synthetic_eval_size, *shape, data.split_seed + 2),
        }
    else:
        arrays = hold_out(read_npy_signals(Path(data.root)), data.val_fraction, data.split_seed)
    expected = (data.in_channels, data.sequence_length)
    for name, (signals, labels) in arrays.items():
        if signals.shape[1:] != expected:
            raise ValueError(
                f"{name} signals have shape (N, C, L) = {signals.shape}, but the config says "
                f"C={expected[0]}, L={expected[1]}; set data.in_channels/sequence_length"
            )
        if labels.size and not 0 <= int(labels.min()) <= int(labels.max()) < data.num_classes:
            raise ValueError(f"{name} labels fall outside [0, {data.num_classes})")
    if data.normalize:
        mean, std = channel_statistics(arrays["train"][0])
    else:
        mean, std = np.zeros(data.in_channels), np.ones(data.in_channels)
    datasets = {name: SignalDataset(x, y, mean, std) for name, (x, y) in arrays.items()}
    splits = DataSplits(datasets["train"], datasets["val"], datasets.get("test"))
    return Prepared(splits, mean=mean, std=std)
