"""Tokenizers for parallel text: word, character or byte-pair vocabularies.

Word and character vocabularies are built from the training split; byte-pair encoding is
trained on it with Hugging Face ``tokenizers`` (the ``bpe`` extra).
Every tokenizer has the same four special ids: ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2
and ``<eos>`` = 3. Chinese, Japanese and other CJK text has no spaces between words, so
the word splitter makes each CJK character a token of its own (the usual character-level
treatment of Chinese in NMT), while Latin-script text splits into words and punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# CJK ideographs, kana and full-width forms: one token per character.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
    "\u3000-\u303f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+|[^\\w\\s]")
# Detokenization: no space before closing punctuation or after an opening one.
_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}'\u2019\u201d])")
_SPACE_AFTER = re.compile(r"([(\[{\u2018\u201c]) ")
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


class Tokenizer(Protocol):
    """What the data pipeline and decoding need from a tokenizer of one side."""

    def encode(self, text: str) -> list[int]:
        """Token ids of a text, without ``<bos>``/``<eos>``."""
        ...

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids, stopping at ``<eos>`` and dropping the other specials."""
        ...

    def normalize(self, text: str) -> str:
        """The text as the tokenizer sees it (what BLEU compares against)."""
        ...

    def __len__(self) -> int:
        """Number of ids the tokenizer can produce."""
        ...


def has_cjk(text: str) -> bool:
    """Whether a text holds CJK characters.

    Args:
        text: Any text.

    Returns:
        True if any character is a CJK ideograph, kana or full-width form.
    """
    return _CJK_CHAR.search(text) is not None


def split_words(text: str) -> list[str]:
    """Split a text into words, punctuation marks and single CJK characters.

    Args:
        text: Any text.

    Returns:
        E.g. ``"A man rides."`` -> ``["A", "man", "rides", "."]``; a Chinese sentence of
        four characters and a full stop gives five tokens.
    """
    return _WORD.findall(text)


def split_characters(text: str) -> list[str]:
    """Split a text into characters, spaces kept (so words can be rebuilt).

    Args:
        text: Any text.

    Returns:
        One symbol per character.
    """
    return list(text)


def join_words(words: Sequence[str]) -> str:
    """Rebuild text from word tokens.

    Spaces go between words, none before closing punctuation, after opening punctuation
    or between CJK characters.

    Args:
        words: Word tokens.

    Returns:
        The text.
    """
    text = " ".join(words)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    return _CJK_SPACE.sub("", text)


SPLITTERS: dict[str, Callable[[str], list[str]]] = {"word": split_words, "char": split_characters}


def normalize_text(text: str, lowercase: bool) -> str:
    """Unicode NFKC, collapsed whitespace and optional lowercasing.

    Args:
        text: Any text.
        lowercase: Lowercase it.

    Returns:
        The normalised text.
    """
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.lower() if lowercase else text


class Vocabulary:
    """A word- or character-level vocabulary with the four special symbols first.

    Built from the training texts: the ``capacity - 4`` most frequent symbols, ties broken
    by the symbol, so the same text always gives the same ids. Unknown symbols encode as
    ``<unk>``.

    Args:
        symbols: Ordered symbols; the first four must be :data:`SPECIALS`.
        level: ``"word"`` or ``"char"``.
        lowercase: Lowercase texts before splitting.

    Raises:
        ValueError: If the level is unknown, the specials are missing or symbols repeat.
    """

    def __init__(self, symbols: list[str], level: str = "word", lowercase: bool = False) -> None:
        if level not in SPLITTERS:
            raise ValueError(f"unknown tokenizer level {level!r}; choose word or char")
        if tuple(symbols[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}, got {symbols[:4]}")
        if len(set(symbols)) != len(symbols):
            raise ValueError("vocabulary symbols must be unique")
        self.symbols = list(symbols)
        self.level = level
        self.lowercase = lowercase
        self._ids = {symbol: index for index, symbol in enumerate(self.symbols)}
        self._split = SPLITTERS[level]

    @classmethod
    def build(
        cls, texts: Iterable[str], capacity: int, level: str = "word", lowercase: bool = False
    ) -> Vocabulary:
        """Count symbols in the training texts and keep the most frequent ones.

        Args:
            texts: Training texts only (never validation or test).
            capacity: Maximum size, specials included (the model's ``vocab_size``).
            level: ``"word"`` or ``"char"``.
            lowercase: Lowercase texts before counting.

        Returns:
            The vocabulary.

        Raises:
            ValueError: If the capacity leaves no room beyond the specials.
        """
        if capacity <= len(SPECIALS):
            raise ValueError(f"vocab_size must exceed {len(SPECIALS)} (the specials), got {capacity}")
        split = SPLITTERS.get(level)
        if split is None:
            raise ValueError(f"unknown tokenizer level {level!r}; choose word or char")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(split(normalize_text(text, lowercase)))
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [symbol for symbol, _ in ranked[: capacity - len(SPECIALS)]]
        return cls([*SPECIALS, *kept], level=level, lowercase=lowercase)

    def __len__(self) -> int:
        """Number of symbols, specials included.

        Returns:
            The vocabulary size.
        """
        return len(self.symbols)

    def normalize(self, text: str) -> str:
        """The text as this vocabulary reads it.

        Args:
            text: Any text.

        Returns:
            NFKC-normalised, whitespace-collapsed (and lowercased) text.
        """
        return normalize_text(text, self.lowercase)

    def encode(self, text: str) -> list[int]:
        """Token ids of a text; unknown symbols become ``<unk>``.

        Args:
            text: Any text.

        Returns:
            One id per symbol, without ``<bos>``/``<eos>``.
        """
        return [self._ids.get(symbol, UNK_ID) for symbol in self._split(self.normalize(text))]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids up to the first ``<eos>`` (padding and ``<bos>`` dropped).

        Args:
            ids: Token ids.

        Returns:
            The text (``<unk>`` stays visible).
        """
        symbols = []
        for index in ids:
            if index == EOS_ID:
                break
            if index in (PAD_ID, BOS_ID) or not 0 <= index < len(self.symbols):
                continue
            symbols.append(self.symbols[index])
        return "".join(symbols) if self.level == "char" else join_words(symbols)


class BpeTokenizer:
    """Byte-pair encoding (Sennrich et al., 2016) trained on the training texts.

    Built with Hugging Face ``tokenizers`` (``pip install -e '.[bpe]'``); SentencePiece-style
    word marks (U+2581) keep the text reversible, CJK text included.

    Args:
        texts: Training texts.
        capacity: Vocabulary size, specials included.
        lowercase: Lowercase texts first.

    Raises:
        ImportError: If ``tokenizers`` is not installed.
    """

    def __init__(self, texts: Iterable[str], capacity: int, lowercase: bool = False) -> None:
        try:
            from tokenizers import Tokenizer as HFTokenizer
            from tokenizers import decoders, models, pre_tokenizers, trainers
        except ImportError as exc:
            raise ImportError(
                "data.tokenizer=bpe needs the tokenizers package: pip install -e '.[bpe]'"
            ) from exc
        self.lowercase = lowercase
        tokenizer: Any = HFTokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(
            vocab_size=capacity, special_tokens=list(SPECIALS), show_progress=False
        )
        tokenizer.train_from_iterator((self.normalize(text) for text in texts), trainer=trainer)
        self.tokenizer = tokenizer

    def normalize(self, text: str) -> str:
        """The text as this tokenizer reads it.

        Args:
            text: Any text.

        Returns:
            NFKC-normalised, whitespace-collapsed (and lowercased) text.
        """
        return normalize_text(text, self.lowercase)

    def encode(self, text: str) -> list[int]:
        """Sub-word ids of a text.

        Args:
            text: Any text.

        Returns:
            The ids, without ``<bos>``/``<eos>``.
        """
        return list(self.tokenizer.encode(self.normalize(text)).ids)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids up to the first ``<eos>``.

        Args:
            ids: Sub-word ids.

        Returns:
            The text.
        """
        kept = []
        for index in ids:
            if index == EOS_ID:
                break
            kept.append(int(index))
        return str(self.tokenizer.decode(kept, skip_special_tokens=True))

    def __len__(self) -> int:
        """Number of ids.

        Returns:
            The trained vocabulary size.
        """
        return int(self.tokenizer.get_vocab_size())


def build_tokenizer(kind: str, texts: Sequence[str], capacity: int, lowercase: bool) -> Tokenizer:
    """Build the configured tokenizer from training texts.

    Args:
        kind: ``"word"``, ``"char"`` or ``"bpe"``.
        texts: Training texts of the side(s) it serves.
        capacity: Maximum vocabulary size (the model's ``vocab_size``).
        lowercase: Lowercase before splitting.

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the kind is unknown.
    """
    if kind == "bpe":
        return BpeTokenizer(texts, capacity, lowercase)
    if kind not in SPLITTERS:
        raise ValueError(f"unknown data.tokenizer {kind!r}; choose word, char or bpe")
    return Vocabulary.build(texts, capacity, level=kind, lowercase=lowercase)
