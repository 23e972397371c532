"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

# Where samples come from, per modality: local files or the offline synthetic generator.
SOURCES: dict[str, tuple[str, ...]] = {
    "text": ("text", "synthetic"),
    "signal": ("npy", "synthetic"),
}
FORMATS = ("imdb", "sst2", "ag_news", "csv")
TOKENIZERS = ("word", "char", "wordpiece", "hf", "pretrained")
# Where a pretrained tokenizer comes from: the hub (or cache), or trained locally (config).
TOKENIZER_SOURCES = ("hub", "config")
# Special-token layouts of the tokenizer trained locally when a pretrained one is missing.
LOCAL_TOKENIZERS = ("bert", "roberta", "gpt2")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    modality: str
    source: str
    num_classes: int
    root: str = "data"
    format: str = "csv"
    tokenizer: str = "word"
    hf_tokenizer: str = ""
    tokenizer_source: str = "hub"
    local_tokenizer: str = "bert"
    allow_local_tokenizer: bool = False
    lowercase: bool = True
    vocab_size: int = 30_000
    max_length: int = 256
    in_channels: int = 12
    sequence_length: int = 1000
    normalize: bool = True
    val_fraction: float = 0.1
    split_seed: int = 0
    synthetic_train_size: int = 4000
    synthetic_eval_size: int = 500
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.modality not in SOURCES:
            raise ValueError(f"data.modality={self.modality!r} is not one of {list(SOURCES)}")
        if self.source not in SOURCES[self.modality]:
            raise ValueError(
                f"data.source={self.source!r} is not one of {list(SOURCES[self.modality])} "
                f"for {self.modality} data"
            )
        if self.format not in FORMATS:
            raise ValueError(f"data.format={self.format!r} is not one of {list(FORMATS)}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"data.tokenizer={self.tokenizer!r} is not one of {list(TOKENIZERS)}")
        if self.tokenizer == "hf" and not self.hf_tokenizer:
            raise ValueError("data.tokenizer=hf needs data.hf_tokenizer (a local folder)")
        if self.tokenizer == "pretrained" and not self.hf_tokenizer:
            raise ValueError("data.tokenizer=pretrained needs data.hf_tokenizer (a hub id)")
        if self.tokenizer_source not in TOKENIZER_SOURCES:
            raise ValueError(
                f"data.tokenizer_source={self.tokenizer_source!r} is not one of "
                f"{list(TOKENIZER_SOURCES)}"
            )
        if self.local_tokenizer not in LOCAL_TOKENIZERS:
            raise ValueError(
                f"data.local_tokenizer={self.local_tokenizer!r} is not one of "
                f"{list(LOCAL_TOKENIZERS)}"
            )
        for name in ("num_classes", "max_length", "in_channels", "sequence_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if self.vocab_size < 3:
            raise ValueError(f"data.vocab_size={self.vocab_size} must be >= 3 (2 specials + 1)")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={self.val_fraction} must be in (0, 1)")
        if self.synthetic_train_size < 2 or self.synthetic_eval_size < 1:
            raise ValueError("data.synthetic_train_size must be >= 2, synthetic_eval_size >= 1")
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"data.class_names has {len(self.class_names)} names for "
                f"{self.num_classes} classes"
            )

    @property
    def is_text(self) -> bool:
        """Whether samples are token sequences (else multichannel signals)."""
        return self.modality == "text"

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
        if kwargs.get("class_names") is not None:
            kwargs["class_names"] = tuple(str(value) for value in kwargs["class_names"])
        return cls(**kwargs)
