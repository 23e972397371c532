"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs
from .tokenizers import BYTE_ALPHABET, GPT2_VOCAB_SIZE, KINDS

SOURCES = ("text", "synthetic")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    vocab_size: int
    block_size: int
    root: str = "data"
    file: str | None = "input.txt"
    split_files: tuple[str, str, str] | None = None
    split_fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)
    train_stride: int | None = None
    synthetic_characters: int = 400_000
    split_seed: int = 0
    tokenizer: str = "char"
    tokenizer_file: str | None = None
    tokenizer_state: str | None = None
    prepared_dir: str | None = None

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        for name in ("vocab_size", "block_size", "synthetic_characters"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if self.train_stride is not None and self.train_stride < 1:
            raise ValueError(f"data.train_stride={self.train_stride} must be >= 1 or null")
        if self.split_files is not None and len(self.split_files) != 3:
            raise ValueError("data.split_files needs three names (train, val, test) or null")
        if len(self.split_fractions) != 3 or any(f <= 0 for f in self.split_fractions):
            raise ValueError("data.split_fractions needs three positive shares: train, val, test")
        self._check_tokenizer()

    def _check_tokenizer(self) -> None:
        if self.tokenizer not in KINDS:
            raise ValueError(f"data.tokenizer={self.tokenizer!r} is not one of {list(KINDS)}")
        if self.tokenizer == "bpe" and self.tokenizer_file is None:
            if self.vocab_size <= BYTE_ALPHABET:
                raise ValueError(
                    f"data.vocab_size={self.vocab_size} leaves a byte-level BPE no merges: it "
                    f"starts from {BYTE_ALPHABET} byte symbols; set it above {BYTE_ALPHABET} "
                    "(e.g. 8192)"
                )
        if self.tokenizer == "gpt2" and self.tokenizer_file is None:
            if self.vocab_size < GPT2_VOCAB_SIZE:
                raise ValueError(
                    f"data.vocab_size={self.vocab_size} is smaller than GPT-2's "
                    f"{GPT2_VOCAB_SIZE:,} tokens; set data.vocab_size={GPT2_VOCAB_SIZE} "
                    "(or 50304, a multiple of 64, as nanoGPT does)"
                )
        if self.tokenizer == "word" and self.vocab_size < 2:
            raise ValueError("data.vocab_size must be >= 2 for the word tokenizer (<unk> + 1)")
        if self.tokenizer_file is not None and self.tokenizer not in ("bpe", "gpt2"):
            raise ValueError(
                f"data.tokenizer_file is for data.tokenizer=bpe or gpt2, not {self.tokenizer!r}"
            )

    @property
    def stride(self) -> int:
        """Tokens between the starts of consecutive training chunks (``block_size`` if unset)."""
        return self.train_stride or self.block_size

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DataConfig:
        """Build from the ``data`` config section.

        Args:
            values: The section (a DictConfig or a dict).

        Returns:
            The checked config.

        Raises:
            ValueError: If a key is unknown or a value is invalid.
        """
        kwargs = section_kwargs(cls, values, "data")
        if kwargs.get("split_files") is not None:
            kwargs["split_files"] = tuple(str(value) for value in kwargs["split_files"])
        if "split_fractions" in kwargs:
            kwargs["split_fractions"] = tuple(float(v) for v in kwargs["split_fractions"])
        return cls(**kwargs)
