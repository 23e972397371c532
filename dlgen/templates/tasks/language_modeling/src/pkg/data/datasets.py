"""Text corpora cut into contiguous chunks of ``block_size`` characters.

Expected layouts under ``data.root`` (nothing is downloaded):

- one text file ``data.file`` (tiny shakespeare: ``input.txt`` from char-rnn), split in
  order into train, validation and test by ``data.split_fractions``;
- or three files named by ``data.split_files`` (WikiText-2 raw:
  ``wiki.train.raw``, ``wiki.valid.raw``, ``wiki.test.raw``).

``source: synthetic`` generates a play-like text from a small grammar instead
(:mod:`.corpus`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .corpus import synthetic_corpus
from .vocabulary import CharVocabulary

SPLITS = ("train", "val", "test")


class TokenChunks(Dataset[tuple[Tensor, Tensor]]):
    """Chunks of ``block_size`` tokens and the same chunks shifted by one (the targets).

    Args:
        ids: The split's token ids, shape ``(N,)``.
        block_size: Tokens per chunk ``T``.
        stride: Tokens between the starts of consecutive chunks (``T``: no overlap).

    Raises:
        ValueError: If the split is shorter than one chunk plus one token.
    """

    def __init__(self, ids: Tensor, block_size: int, stride: int) -> None:
        if len(ids) < block_size + 1:
            raise ValueError(
                f"a split of {len(ids)} tokens is shorter than block_size + 1 = "
                f"{block_size + 1}; use more text or a smaller data.block_size"
            )
        self.ids = ids
        self.block_size = block_size
        self.stride = stride
        self.length = (len(ids) - 1 - block_size) // stride + 1

    def __len__(self) -> int:
        """Number of chunks.

        Returns:
            The dataset size.
        """
        return self.length

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """One chunk.

        Args:
            index: Chunk index.

        Returns:
            ``(inputs, targets)``, each ``(T,)`` int64; ``targets[t] = inputs[t + 1]``.
        """
        start = index * self.stride
        window = self.ids[start : start + self.block_size + 1]
        return window[:-1], window[1:]


@dataclass
class Prepared:
    """The datasets plus the vocabulary (for sampling and inference).

    Attributes:
        splits: Train, validation and test chunks.
        vocabulary: The character vocabulary of the corpus.
        texts: The raw text of each split.
    """

    splits: DataSplits
    vocabulary: CharVocabulary
    texts: dict[str, str]


def load_texts(data: DataConfig) -> dict[str, str]:
    """The text of each split.

    Args:
        data: The data config.

    Returns:
        ``{"train": ..., "val": ..., "test": ...}``.

    Raises:
        FileNotFoundError: If a configured file is missing.
    """
    if data.source == "synthetic":
        return split_in_order(synthetic_corpus(data.synthetic_characters, data.split_seed), data)
    root = Path(data.root)
    if data.split_files is not None:
        paths = [root / name for name in data.split_files]
        _require(paths)
        return {
            split: path.read_text(encoding="utf-8")
            for split, path in zip(SPLITS, paths, strict=True)
        }
    _require([root / data.file])
    return split_in_order((root / data.file).read_text(encoding="utf-8"), data)


def _require(paths: list[Path]) -> None:
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"text file(s) {missing} not found; put the corpus there (see the layout in "
            "src/.../data/datasets.py), set data.root/data.file, or use data.source=synthetic"
        )


def split_in_order(text: str, data: DataConfig) -> dict[str, str]:
    """Split one text into consecutive train, validation and test parts.

    Args:
        text: The corpus.
        data: The data config (``split_fractions``).

    Returns:
        The three parts.
    """
    total = sum(data.split_fractions)
    first = int(len(text) * data.split_fractions[0] / total)
    second = first + int(len(text) * data.split_fractions[1] / total)
    return {"train": text[:first], "val": text[first:second], "test": text[second:]}


def prepare(data: DataConfig) -> Prepared:
    """Load the corpus, build the vocabulary, encode and chunk every split.

    Args:
        data: The data config.

    Returns:
        The datasets, the vocabulary and the split texts.

    Raises:
        ValueError: If the corpus has more distinct characters than ``data.vocab_size``.
    """
    texts = load_texts(data)
    vocabulary = CharVocabulary.from_text("".join(texts.values()))
    if len(vocabulary) > data.vocab_size:
        raise ValueError(
            f"the corpus has {len(vocabulary)} distinct characters but data.vocab_size is "
            f"{data.vocab_size}; set data.vocab_size={len(vocabulary)} (the model follows)"
        )
    chunks = {
        split: TokenChunks(
            vocabulary.encode(text),
            data.block_size,
            data.stride if split == "train" else data.block_size,
        )
        for split, text in texts.items()
    }
    return Prepared(DataSplits(chunks["train"], chunks["val"], chunks["test"]), vocabulary, texts)
