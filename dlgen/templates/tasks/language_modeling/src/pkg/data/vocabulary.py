"""A character vocabulary: every distinct character of the corpus, in sorted order."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor


class CharVocabulary:
    """Maps characters to ids ``0 .. V-1`` and back.

    Built from the character set of the whole corpus, as char-rnn and nanoGPT do: that
    reveals which symbols exist, not how often they occur, so no split leaks statistics
    into another, and every character of the validation and test text has an id.

    Args:
        symbols: The distinct characters, in id order.

    Raises:
        ValueError: If a symbol is not one character or symbols repeat.
    """

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = list(symbols)
        if any(len(symbol) != 1 for symbol in self.symbols):
            raise ValueError("every symbol of a character vocabulary must be one character")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("vocabulary symbols must be unique")
        self._ids = {symbol: index for index, symbol in enumerate(self.symbols)}

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        """The sorted character set of a text.

        Args:
            text: The corpus.

        Returns:
            The vocabulary.
        """
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        """Number of characters ``V``.

        Returns:
            The vocabulary size.
        """
        return len(self.symbols)

    def encode(self, text: str) -> Tensor:
        """Ids of a text's characters.

        Args:
            text: Text made of known characters.

        Returns:
            Shape ``(len(text),)``, int64.

        Raises:
            ValueError: Listing the characters the vocabulary does not know.
        """
        unknown = sorted({char for char in text if char not in self._ids})
        if unknown:
            raise ValueError(f"characters {unknown[:10]} are not in the vocabulary")
        return torch.tensor([self._ids[char] for char in text], dtype=torch.long)

    def encode_list(self, text: str) -> list[int]:
        """Ids of a text's characters, as a list.

        Args:
            text: Text made of known characters.

        Returns:
            One id per character.

        Raises:
            ValueError: Listing the characters the vocabulary does not know.
        """
        try:
            return [self._ids[char] for char in text]
        except KeyError:
            unknown = sorted({char for char in text if char not in self._ids})
            raise ValueError(f"characters {unknown[:10]} are not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids; ids beyond the vocabulary (unused embedding rows) become ``?``.

        Args:
            ids: Character ids.

        Returns:
            The text.
        """
        size = len(self.symbols)
        return "".join(self.symbols[index] if 0 <= index < size else "?" for index in ids)

    def save(self, path: Path | str) -> None:
        """Write the vocabulary as JSON.

        Args:
            path: Destination file.
        """
        Path(path).write_text(json.dumps({"symbols": self.symbols}, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path | str) -> CharVocabulary:
        """Read a vocabulary written by :meth:`save`.

        Args:
            path: The JSON file.

        Returns:
            The vocabulary.
        """
        return cls(json.loads(Path(path).read_text(encoding="utf-8"))["symbols"])
