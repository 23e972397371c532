"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

SOURCES = ("text", "synthetic")
TOKENIZERS = ("word", "char", "bpe")
# sacreBLEU tokenizers (auto: zh for targets with CJK characters, else 13a).
BLEU_TOKENIZERS = ("auto", "13a", "zh", "intl", "char", "none")
# Specials (<pad>, <unk>, <bos>, <eos>) plus at least one symbol.
MIN_VOCAB = 5


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    vocab_size: int
    max_length: int
    root: str = "data"
    src_lang: str = "src"
    tgt_lang: str = "tgt"
    train_prefix: str = "train"
    val_prefix: str = "val"
    test_prefix: str = "test"
    tokenizer: str = "word"
    lowercase: bool = False
    val_fraction: float = 0.05
    split_seed: int = 0
    synthetic_train_size: int = 4000
    synthetic_eval_size: int = 300
    bleu_tokenize: str = "auto"
    eval_beam_size: int = 1

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        choices = {"source": SOURCES, "tokenizer": TOKENIZERS, "bleu_tokenize": BLEU_TOKENIZERS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"data.{key}={getattr(self, key)!r} is not one of {list(allowed)}")
        if self.vocab_size < MIN_VOCAB:
            raise ValueError(f"data.vocab_size={self.vocab_size} must be >= {MIN_VOCAB}")
        if self.max_length < 2:
            raise ValueError(f"data.max_length={self.max_length} must be >= 2 (a token and <eos>)")
        if self.src_lang == self.tgt_lang:
            raise ValueError(
                f"data.src_lang and data.tgt_lang are both {self.src_lang!r}; the files "
                "<prefix>.<src_lang> and <prefix>.<tgt_lang> must differ"
            )
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")
        if self.synthetic_train_size < 2 or self.synthetic_eval_size < 1:
            raise ValueError("data.synthetic_train_size must be >= 2, synthetic_eval_size >= 1")
        if self.eval_beam_size < 1:
            raise ValueError(f"data.eval_beam_size={self.eval_beam_size} must be >= 1")

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
        return cls(**section_kwargs(cls, values, "data"))
