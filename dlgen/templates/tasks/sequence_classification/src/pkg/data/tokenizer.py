"""Tokenizers built from the training text: characters or whitespace words, JSON-saveable.

A vocabulary maps the ``capacity - len(SPECIALS)`` most frequent symbols of the training
text to ids after the special symbols (``<pad>`` = 0, ``<unk>`` = 1); ties are broken by
the symbol itself, so the same text always gives the same ids. Symbols outside it encode
as ``<unk>``. A Hugging Face tokenizer can replace it (:func:`build_tokenizer` with
``kind="hf"``) when ``transformers`` is installed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

PAD, UNK = "<pad>", "<unk>"
SPECIALS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1
_WORD = re.compile(r"\w+|[^\w\s]")


class Tokenizer(Protocol):
    """What the data pipeline needs from a tokenizer."""

    pad_id: int

    def encode(self, text: str) -> list[int]:
        """Token ids of a text."""
        ...

    def __len__(self) -> int:
        """Number of ids the tokenizer can produce (the embedding needs at least this)."""
        ...


def split_characters(text: str) -> list[str]:
    """Split a text into characters.

    Args:
        text: Any text.

    Returns:
        One symbol per character.
    """
    return list(text)


def split_words(text: str) -> list[str]:
    """Split a text into words and punctuation marks.

    Args:
        text: Any text.

    Returns:
        Runs of word characters and single punctuation marks, e.g. ``"not bad."`` ->
        ``["not", "bad", "."]``.
    """
    return _WORD.findall(text)


SPLITTERS: dict[str, Callable[[str], list[str]]] = {"char": split_characters, "word": split_words}


class Vocabulary:
    """A character- or word-level vocabulary with ``<pad>`` and ``<unk>``.

    Args:
        symbols: Ordered symbols; the first two must be ``<pad>`` and ``<unk>``.
        level: ``"char"`` or ``"word"``.
        lowercase: Lowercase texts before splitting.

    Raises:
        ValueError: If the level is unknown or the specials are missing or symbols repeat.
    """

    pad_id = PAD_ID
    unk_id = UNK_ID

    def __init__(self, symbols: list[str], level: str = "word", lowercase: bool = True) -> None:
        if level not in SPLITTERS:
            raise ValueError(
                f"unknown tokenizer level {level!r}; choose one of {sorted(SPLITTERS)}"
            )
        if tuple(symbols[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}, got {symbols[:2]}")
        if len(set(symbols)) != len(symbols):
            raise ValueError("vocabulary symbols must be unique")
        self.symbols = list(symbols)
        self.level = level
        self.lowercase = lowercase
        self._ids = {symbol: index for index, symbol in enumerate(self.symbols)}
        self._split = SPLITTERS[level]

    @classmethod
    def build(
        cls, texts: Iterable[str], capacity: int, level: str = "word", lowercase: bool = True
    ) -> Vocabulary:
        """Count symbols in the training texts and keep the most frequent ones.

        Args:
            texts: Training texts only (never validation or test).
            capacity: Maximum vocabulary size, specials included (the model's
                ``vocab_size``).
            level: ``"char"`` or ``"word"``.
            lowercase: Lowercase texts before counting.

        Returns:
            The vocabulary.

        Raises:
            ValueError: If the capacity leaves no room beyond the specials.
        """
        if capacity <= len(SPECIALS):
            raise ValueError(
                f"vocab_size must exceed {len(SPECIALS)} (the specials), got {capacity}"
            )
        split = SPLITTERS.get(level)
        if split is None:
            raise ValueError(
                f"unknown tokenizer level {level!r}; choose one of {sorted(SPLITTERS)}"
            )
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(split(text.lower() if lowercase else text))
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

    def encode(self, text: str) -> list[int]:
        """Token ids of a text; unknown symbols become ``<unk>``.

        Args:
            text: Any text.

        Returns:
            One id per symbol.
        """
        normalised = text.lower() if self.lowercase else text
        return [self._ids.get(symbol, UNK_ID) for symbol in self._split(normalised)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids (padding dropped; words joined by spaces).

        Args:
            ids: Token ids.

        Returns:
            The text.
        """
        symbols = [self.symbols[i] for i in ids if i != PAD_ID and 0 <= i < len(self.symbols)]
        return ("" if self.level == "char" else " ").join(symbols)

    def save(self, path: Path | str) -> None:
        """Write the vocabulary as JSON (``inference.py`` reloads it).

        Args:
            path: Destination file.
        """
        document = {"level": self.level, "lowercase": self.lowercase, "symbols": self.symbols}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`.

        Args:
            path: The JSON file.

        Returns:
            The vocabulary.
        """
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(list(document["symbols"]), document["level"], bool(document["lowercase"]))


class HuggingFaceTokenizer:
    """Adapter for a local Hugging Face tokenizer (``transformers`` must be installed).

    Nothing is downloaded: ``name_or_path`` must be a folder with the tokenizer files or a
    model already in the local Hugging Face cache.

    Args:
        name_or_path: Tokenizer folder or cached model name.

    Raises:
        ImportError: If ``transformers`` is not installed.
    """

    def __init__(self, name_or_path: str) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise ImportError(
                "data.tokenizer='hf' needs the transformers package: pip install -e '.[hf]'"
            ) from exc
        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0

    def encode(self, text: str) -> list[int]:
        """Token ids of a text, without special tokens.

        Args:
            text: Any text.

        Returns:
            The ids.
        """
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def __len__(self) -> int:
        """Number of ids the tokenizer can produce.

        Returns:
            Its vocabulary size, added tokens included.
        """
        return len(self.tokenizer)


def build_tokenizer(
    kind: str, texts: Iterable[str], capacity: int, lowercase: bool = True, hf_name: str = ""
) -> Tokenizer:
    """Build the configured tokenizer.

    Args:
        kind: ``"char"``, ``"word"`` or ``"hf"``.
        texts: Training texts (for ``char`` and ``word``).
        capacity: Maximum vocabulary size (the model's ``vocab_size``).
        lowercase: Lowercase before splitting (``char`` and ``word``).
        hf_name: Local folder or cached name of the Hugging Face tokenizer (``hf``).

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the kind is unknown, or a Hugging Face tokenizer is larger than
            ``capacity``.
    """
    if kind == "hf":
        tokenizer = HuggingFaceTokenizer(hf_name)
        if len(tokenizer) > capacity:
            raise ValueError(
                f"the Hugging Face tokenizer has {len(tokenizer)} ids but data.vocab_size is "
                f"{capacity}; set data.vocab_size={len(tokenizer)}"
            )
        return tokenizer
    if kind not in SPLITTERS:
        raise ValueError(f"unknown data.tokenizer {kind!r}; choose char, word or hf")
    return Vocabulary.build(texts, capacity, level=kind, lowercase=lowercase)
