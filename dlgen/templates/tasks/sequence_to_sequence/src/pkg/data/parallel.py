"""Parallel text: line-aligned source and target files, or the offline toy translation.

Expected layout under ``data.root`` (nothing is downloaded), one sentence per line, line
``i`` of the source file translating to line ``i`` of the target file:

- ``<prefix>.<src_lang>`` and ``<prefix>.<tgt_lang>`` for each split prefix
  (``data.train_prefix``, ``data.val_prefix``, ``data.test_prefix``): ``train.src`` and
  ``train.tgt`` by default; Multi30k (task 1) is ``train.de``/``train.en``,
  ``val.de``/``val.en`` and ``test_2016_flickr.de``/``test_2016_flickr.en``
  (``test2016.*`` in torchtext's archive: set ``data.test_prefix=test2016``);
- gzip-compressed files (``train.de.gz``, as the Multi30k repository ships them) are read
  when the plain file is missing.

Without validation files a share of the training pairs (``data.val_fraction``) is held
out; without test files there is no test split. Pairs with an empty side are dropped.
``source: synthetic`` generates the toy translation of :mod:`.toy_translation` instead.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .tokenizer import BOS_ID, EOS_ID, PAD_ID, Tokenizer, build_tokenizer, has_cjk
from .toy_translation import toy_pairs

Pairs = list[tuple[str, str]]
SPLITS = ("train", "val", "test")
# sacreBLEU tokenization for targets that are (not) written in CJK characters.
CJK_BLEU_TOKENIZE, DEFAULT_BLEU_TOKENIZE = "zh", "13a"


def pad_to(ids: list[int], length: int) -> Tensor:
    """A ``(length,)`` int64 tensor: ``ids`` then padding.

    Args:
        ids: At most ``length`` ids.
        length: The padded length.

    Returns:
        The padded ids.
    """
    row = torch.full((length,), PAD_ID, dtype=torch.long)
    row[: len(ids)] = torch.tensor(ids, dtype=torch.long)
    return row


def encode_source(tokenizer: Tokenizer, text: str, max_length: int) -> list[int]:
    """Source ids ending with ``<eos>``, cut to ``max_length`` ids in all.

    Args:
        tokenizer: The source tokenizer.
        text: The source sentence.
        max_length: Longest id sequence.

    Returns:
        The ids.
    """
    return tokenizer.encode(text)[: max_length - 1] + [EOS_ID]


class ParallelPairs(Dataset[tuple[Tensor, Tensor, Tensor, Tensor]]):
    """Encoded sentence pairs, padded to ``max_length``.

    Args:
        pairs: ``(source, target)`` sentences.
        source: Source tokenizer.
        target: Target tokenizer.
        max_length: Ids kept per side (longer sentences are cut, ``<eos>`` kept).
        reference_offset: Index of this split's first target in the task's reference list.
    """

    def __init__(
        self,
        pairs: Pairs,
        source: Tokenizer,
        target: Tokenizer,
        max_length: int,
        reference_offset: int,
    ) -> None:
        self.max_length = max_length
        self.reference_offset = reference_offset
        self.sources = [encode_source(source, src, max_length) for src, _ in pairs]
        self.targets = [target.encode(tgt)[: max_length - 1] for _, tgt in pairs]

    def __len__(self) -> int:
        """Number of pairs.

        Returns:
            The dataset size.
        """
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One encoded pair.

        Args:
            index: Pair index.

        Returns:
            ``(src, tgt_in, tgt_out, reference)``: ``src`` the source ids and ``<eos>``;
            ``tgt_in`` = ``<bos>`` + target ids and ``tgt_out`` = target ids + ``<eos>``
            (teacher forcing: ``tgt_out[t]`` follows ``tgt_in[:t + 1]``), each
            ``(max_length,)`` int64 padded with ``<pad>`` = 0; ``reference`` the int64 index
            of the untokenized target among the task's references.
        """
        target = self.targets[index]
        return (
            pad_to(self.sources[index], self.max_length),
            pad_to([BOS_ID, *target], self.max_length),
            pad_to([*target, EOS_ID], self.max_length),
            torch.tensor(self.reference_offset + index),
        )


@dataclass
class Prepared:
    """The datasets, the tokenizers and the texts that inference and BLEU need.

    Attributes:
        splits: Train, validation and (when there are test files) test pairs.
        source: Source tokenizer (the same object as ``target`` when shared).
        target: Target tokenizer.
        references: Every split's normalised target sentences, indexed by the batches'
            ``reference`` ids.
        pairs: The raw pairs of each split.
        bleu_tokenize: The sacreBLEU tokenizer for these targets.
    """

    splits: DataSplits
    source: Tokenizer
    target: Tokenizer
    references: list[str]
    pairs: dict[str, Pairs]
    bleu_tokenize: str


def _read_lines(path: Path) -> list[str] | None:
    """Lines of a UTF-8 file, or of ``path.gz``; None when neither exists."""
    if path.is_file():
        return path.read_text(encoding="utf-8").splitlines()
    packed = path.with_name(path.name + ".gz")
    if packed.is_file():
        with gzip.open(packed, "rt", encoding="utf-8") as handle:
            return handle.read().splitlines()
    return None


def read_pairs(root: Path, prefix: str, src_lang: str, tgt_lang: str) -> Pairs | None:
    """Read one split's line-aligned files.

    Args:
        root: The data folder.
        prefix: The split's file prefix, e.g. ``train``.
        src_lang: Source file extension, e.g. ``de``.
        tgt_lang: Target file extension, e.g. ``en``.

    Returns:
        ``(source, target)`` pairs with both sides non-empty, or None when both files are
        missing.

    Raises:
        FileNotFoundError: If only one side of the split exists.
        ValueError: If the two files have different numbers of lines.
    """
    src_path, tgt_path = root / f"{prefix}.{src_lang}", root / f"{prefix}.{tgt_lang}"
    sources, targets = _read_lines(src_path), _read_lines(tgt_path)
    if sources is None and targets is None:
        return None
    if sources is None or targets is None:
        missing = src_path if sources is None else tgt_path
        raise FileNotFoundError(f"{missing} (or {missing}.gz) is missing; each split needs both sides")
    if len(sources) != len(targets):
        raise ValueError(
            f"{src_path} has {len(sources)} lines but {tgt_path} has {len(targets)}; parallel "
            "files must be line-aligned (one sentence per line, same order)"
        )
    return [(s.strip(), t.strip()) for s, t in zip(sources, targets, strict=True) if s.strip() and t.strip()]


def load_pairs(data: DataConfig) -> dict[str, Pairs]:
    """The sentence pairs of every split.

    Args:
        data: The data config.

    Returns:
        ``train`` and ``val`` (and ``test`` when it exists) pairs.

    Raises:
        FileNotFoundError: If the training files are missing.
        ValueError: If the training split is too small to hold out a validation split.
    """
    if data.source == "synthetic":
        sizes = {"train": data.synthetic_train_size, "val": data.synthetic_eval_size}
        sizes["test"] = data.synthetic_eval_size
        return {
            split: toy_pairs(size, data.split_seed * 7919 + offset)
            for offset, (split, size) in enumerate(sizes.items())
        }
    root = Path(data.root)
    prefixes = {"train": data.train_prefix, "val": data.val_prefix, "test": data.test_prefix}
    found = {
        split: read_pairs(root, prefix, data.src_lang, data.tgt_lang)
        for split, prefix in prefixes.items()
    }
    train = found["train"]
    if train is None:
        raise FileNotFoundError(
            f"no training files {root}/{data.train_prefix}.{data.src_lang} and "
            f"{root}/{data.train_prefix}.{data.tgt_lang}; put the line-aligned parallel text "
            "there (see docs/data.md), set data.root/src_lang/tgt_lang, or use "
            "data.source=synthetic"
        )
    splits: dict[str, Pairs] = {"train": train}
    if found["val"] is not None:
        splits["val"] = found["val"]
    else:
        shuffled = list(train)
        random.Random(data.split_seed).shuffle(shuffled)
        size = max(1, round(len(shuffled) * data.val_fraction))
        if size >= len(shuffled):
            raise ValueError(f"{len(train)} training pairs are too few to hold out a validation split")
        splits["train"], splits["val"] = shuffled[size:], shuffled[:size]
    if found["test"] is not None:
        splits["test"] = found["test"]
    return splits


def prepare(data: DataConfig, shared_vocabulary: bool) -> Prepared:
    """Load the pairs, fit the tokenizer(s) on the training split, encode every split.

    Args:
        data: The data config.
        shared_vocabulary: One vocabulary for both sides (the model shares its embeddings).

    Returns:
        The datasets, tokenizers and reference texts.
    """
    pairs = load_pairs(data)
    train_sources = [src for src, _ in pairs["train"]]
    train_targets = [tgt for _, tgt in pairs["train"]]
    capacity, kind, lowercase = data.vocab_size, data.tokenizer, data.lowercase
    if shared_vocabulary:
        source = target = build_tokenizer(kind, train_sources + train_targets, capacity, lowercase)
    else:
        source = build_tokenizer(kind, train_sources, capacity, lowercase)
        target = build_tokenizer(kind, train_targets, capacity, lowercase)
    references: list[str] = []
    datasets: dict[str, ParallelPairs] = {}
    for split in SPLITS:
        if split not in pairs:
            continue
        datasets[split] = ParallelPairs(pairs[split], source, target, data.max_length, len(references))
        references.extend(target.normalize(tgt) for _, tgt in pairs[split])
    bleu_tokenize = data.bleu_tokenize
    if bleu_tokenize == "auto":
        cjk = any(has_cjk(text) for text in train_targets[:1000])
        bleu_tokenize = CJK_BLEU_TOKENIZE if cjk else DEFAULT_BLEU_TOKENIZE
    splits = DataSplits(datasets["train"], datasets["val"], datasets.get("test"))
    return Prepared(splits, source, target, references, pairs, bleu_tokenize)
