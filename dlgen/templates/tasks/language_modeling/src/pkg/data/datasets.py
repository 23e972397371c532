"""Text corpora, tokenized and cut into contiguous chunks of ``block_size`` tokens.

Expected layouts under ``data.root`` (nothing is downloaded):

- one text file ``data.file`` (tiny shakespeare: ``input.txt`` from char-rnn), split in
  order into train, validation and test by ``data.split_fractions``;
- ``data.file: null``: every ``*.txt`` file under ``data.root`` (sorted, sub-folders too;
  ``data.root`` may also be one file), joined by blank lines and split in the same way;
- or three files named by ``data.split_files`` (WikiText-2 raw:
  ``wiki.train.raw``, ``wiki.valid.raw``, ``wiki.test.raw``).

``source: synthetic`` generates a play-like text from a small grammar instead
(:mod:`.corpus`). When ``python prepare_data.py`` has tokenized the corpus into
memory-mapped token files (:mod:`.prepare`), the splits read those; otherwise the corpus
is tokenized in memory on every start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..trainers.task_contract import DataSplits
from .config import DataConfig
from .corpus import synthetic_corpus
from .tokenizers import HFTokenizer, TiktokenTokenizer, Tokenizer, decode_state, fit_tokenizer

SPLITS = ("train", "val", "test")
# Characters per piece the corpus is encoded in (cut at line ends).
PIECE_CHARACTERS = 1 << 20
# Pieces a parallel tokenizer (BPE, tiktoken) encodes per call.
PIECES_PER_BATCH = 16


def token_dtype(vocab_size: int) -> np.dtype[np.unsignedinteger]:
    """The smallest unsigned type that holds every id (nanoGPT's uint16 for GPT-2).

    Args:
        vocab_size: Number of ids.

    Returns:
        ``uint16`` up to 65,536 ids, else ``uint32``.
    """
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


class TokenFile:
    """A token file opened as a read-only ``np.memmap`` on first use (once per process).

    Pickling (DataLoader workers under ``spawn``) sends the path, not the tokens.

    Args:
        path: The ``.bin`` file.
        dtype: Its element type.
    """

    def __init__(self, path: Path, dtype: np.dtype[np.unsignedinteger]) -> None:
        self.path = path
        self.dtype = dtype
        self._array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        """The tokens, shape ``(N,)``.

        Returns:
            The memory map.
        """
        if self._array is None:
            self._array = np.memmap(self.path, dtype=self.dtype, mode="r")
        return self._array

    def __len__(self) -> int:
        """Number of tokens.

        Returns:
            ``N``.
        """
        return self.path.stat().st_size // self.dtype.itemsize

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the memory map.

        Returns:
            The attributes, ``_array`` cleared.
        """
        return {**self.__dict__, "_array": None}


class TokenChunks(Dataset[tuple[Tensor, Tensor]]):
    """Chunks of ``block_size`` tokens and the same chunks shifted by one (the targets).

    Chunk ``i`` starts at token ``i * stride``; the training loader shuffles the chunk order.

    Args:
        tokens: The split's token ids, shape ``(N,)``: an array or a memory-mapped file.
        block_size: Tokens per chunk ``T``.
        stride: Tokens between the starts of consecutive chunks (``T``: no overlap).

    Raises:
        ValueError: If the split is shorter than one chunk plus one token.
    """

    def __init__(self, tokens: np.ndarray | TokenFile, block_size: int, stride: int) -> None:
        count = len(tokens)
        if count < block_size + 1:
            raise ValueError(
                f"a split of {count} tokens is shorter than block_size + 1 = "
                f"{block_size + 1}; use more text or a smaller data.block_size"
            )
        self.tokens = tokens
        self.block_size = block_size
        self.stride = stride
        self.length = (count - 1 - block_size) // stride + 1

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
        array = self.tokens.array() if isinstance(self.tokens, TokenFile) else self.tokens
        start = index * self.stride
        window = torch.from_numpy(array[start : start + self.block_size + 1].astype(np.int64))
        return window[:-1], window[1:]


@dataclass
class Prepared:
    """The datasets plus the tokenizer that made them (for sampling and inference).

    Attributes:
        splits: Train, validation and test chunks.
        tokenizer: The tokenizer.
        origin: Where the tokens come from (a prepared folder, or memory).
    """

    splits: DataSplits
    tokenizer: Tokenizer
    origin: str


def corpus_files(data: DataConfig) -> list[Path]:
    """The text files of ``source: text``, in reading order.

    Args:
        data: The data config.

    Returns:
        The files (none for ``source: synthetic``).

    Raises:
        FileNotFoundError: If a configured file is missing or a folder holds no ``.txt``.
    """
    if data.source == "synthetic":
        return []
    root = Path(data.root)
    if data.split_files is not None:
        paths = [root / name for name in data.split_files]
    elif data.file is not None:
        paths = [root / data.file]
    elif root.is_file():
        paths = [root]
    else:
        paths = sorted(path for path in root.rglob("*.txt") if path.is_file())
        if not paths:
            raise FileNotFoundError(
                f"no .txt file under {root}; put the corpus there (one or more .txt files), "
                "set data.root/data.file, or use data.source=synthetic"
            )
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"text file(s) {missing} not found; put the corpus there (see the layout in "
            "src/.../data/datasets.py), set data.root/data.file, or use data.source=synthetic"
        )
    return paths


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
    paths = corpus_files(data)
    if data.split_files is not None:
        return {
            split: path.read_text(encoding="utf-8")
            for split, path in zip(SPLITS, paths, strict=True)
        }
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in paths)
    return split_in_order(text, data)


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


def build_tokenizer(data: DataConfig, texts: dict[str, str]) -> Tokenizer:
    """The tokenizer of the config: the stored one, else fitted on the corpus.

    Args:
        data: The data config (``tokenizer_state`` wins when set).
        texts: The split texts.

    Returns:
        The tokenizer.

    Raises:
        ValueError: If it produces more ids than ``data.vocab_size``.
    """
    if data.tokenizer_state is not None:
        tokenizer = decode_state(data.tokenizer_state)
    else:
        corpus = "".join(texts[split] for split in SPLITS)
        tokenizer = fit_tokenizer(
            data.tokenizer, data.vocab_size, texts["train"], corpus, data.tokenizer_file
        )
    check_capacity(tokenizer, data)
    return tokenizer


def check_capacity(tokenizer: Tokenizer, data: DataConfig) -> None:
    """Refuse a tokenizer with more ids than the embedding has rows.

    Args:
        tokenizer: The tokenizer.
        data: The data config (``vocab_size``).

    Raises:
        ValueError: Naming the size to set.
    """
    if tokenizer.size > data.vocab_size:
        unit = "distinct characters" if tokenizer.kind == "char" else "tokens"
        raise ValueError(
            f"the {tokenizer.kind} tokenizer has {tokenizer.size} {unit} but data.vocab_size "
            f"is {data.vocab_size}; set data.vocab_size={tokenizer.size} (the model follows)"
        )


def text_pieces(text: str, size: int = PIECE_CHARACTERS) -> Iterator[str]:
    """Consecutive pieces of about ``size`` characters, cut after a line break.

    Args:
        text: The text.
        size: Characters per piece (a piece without line breaks is cut at ``size``).

    Yields:
        The pieces; joined they give ``text``.
    """
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            newline = text.rfind("\n", start, end)
            end = newline + 1 if newline >= start else end
        yield text[start:end]
        start = end


def encode_pieces(tokenizer: Tokenizer, text: str) -> Iterator[tuple[np.ndarray, int]]:
    """Encode a text piece by piece (parallel tokenizers a batch of pieces at a time).

    Every path (in memory, ``prepare_data.py``) encodes through this function, so they
    give the same tokens.

    Args:
        tokenizer: The tokenizer.
        text: The text.

    Yields:
        ``(ids, characters)``: the ids of some pieces, int64, and how many characters
        they cover.
    """
    pieces = list(text_pieces(text))
    parallel = isinstance(tokenizer, (HFTokenizer, TiktokenTokenizer))
    step = PIECES_PER_BATCH if parallel else 1
    for start in range(0, len(pieces), step):
        group = pieces[start : start + step]
        if isinstance(tokenizer, (HFTokenizer, TiktokenTokenizer)):
            encoded = tokenizer.encode_batch(group)
        else:
            encoded = [tokenizer.encode(piece) for piece in group]
        ids = [np.asarray(piece_ids, dtype=np.int64) for piece_ids in encoded]
        yield np.concatenate(ids) if ids else np.zeros(0, np.int64), sum(map(len, group))


def encode_text(tokenizer: Tokenizer, text: str, dtype: np.dtype[np.unsignedinteger]) -> np.ndarray:
    """All ids of a text in one array.

    Args:
        tokenizer: The tokenizer.
        text: The text.
        dtype: Element type of the result.

    Returns:
        Shape ``(N,)``.
    """
    parts = [ids.astype(dtype) for ids, _ in encode_pieces(tokenizer, text)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def chunk_splits(tokens: dict[str, np.ndarray | TokenFile], data: DataConfig) -> DataSplits:
    """Cut every split into chunks (training: ``data.stride`` apart; evaluation: disjoint).

    Args:
        tokens: The ids of each split.
        data: The data config.

    Returns:
        The datasets.
    """
    chunks = {
        split: TokenChunks(
            ids, data.block_size, data.stride if split == "train" else data.block_size
        )
        for split, ids in tokens.items()
    }
    return DataSplits(chunks["train"], chunks["val"], chunks["test"])


def prepare_in_memory(data: DataConfig) -> Prepared:
    """Load the corpus, build the tokenizer, encode and chunk every split in memory.

    Args:
        data: The data config.

    Returns:
        The datasets and the tokenizer.
    """
    texts = load_texts(data)
    tokenizer = build_tokenizer(data, texts)
    dtype = token_dtype(max(tokenizer.size, data.vocab_size))
    tokens: dict[str, np.ndarray | TokenFile] = {
        split: encode_text(tokenizer, texts[split], dtype) for split in SPLITS
    }
    return Prepared(chunk_splits(tokens, data), tokenizer, "memory")
