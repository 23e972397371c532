"""Tokenizers built from the training text: characters or whitespace words, JSON-saveable.

A vocabulary maps the ``capacity - len(SPECIALS)`` most frequent symbols of the training
text to ids after the special symbols (``<pad>`` = 0, ``<unk>`` = 1); ties are broken by
the symbol itself, so the same text always gives the same ids. Symbols outside it encode
as ``<unk>``. A Hugging Face tokenizer can replace it (:func:`build_tokenizer` with
``kind="hf"``) when ``transformers`` is installed.

A fine-tuned pretrained model needs its own tokenizer (``kind="pretrained"``): loaded with
``from_pretrained`` (the cache first, then the hub if it answers), special tokens included.
When neither has it, a tokenizer of the same layout (WordPiece for BERT, BPE for RoBERTa
and GPT-2) is trained on the training texts with the ``tokenizers`` package, but only where
that is allowed: synthetic data, or ``data.allow_local_tokenizer``; otherwise the run stops
with :class:`PretrainedTokenizerError`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, cast
from urllib.parse import urlparse

PAD, UNK = "<pad>", "<unk>"
SPECIALS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1
_WORD = re.compile(r"\w+|[^\w\s]")
# Special tokens of the locally trained tokenizers, in id order (ids 0, 1, ...): the pad id
# is the base model's (BERT 0, RoBERTa 1); GPT-2 pads with <|endoftext|>.
LOCAL_SPECIALS: dict[str, tuple[str, ...]] = {
    "bert": ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
    "roberta": ("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
    "gpt2": ("<|endoftext|>", "<unk>"),
}
HUB_TIMEOUT = 3.0
LOGGER = logging.getLogger("train")


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


class HFTokenizer(Protocol):
    """The part of a ``transformers`` tokenizer the pipeline uses."""

    @property
    def pad_token_id(self) -> int | None:
        """Id of the padding token (None for GPT-2)."""
        ...

    @property
    def eos_token_id(self) -> int | None:
        """Id of the end-of-text token."""
        ...

    def __call__(self, text: str, *, truncation: bool, max_length: int) -> dict[str, list[int]]:
        """Encode one text (``input_ids`` with the special tokens)."""
        ...

    def __len__(self) -> int:
        """Number of ids, added tokens included."""
        ...


class PretrainedTokenizerError(ValueError):
    """The pretrained model's tokenizer is missing and no local substitute is allowed."""


class PretrainedTokenizer:
    """A Hugging Face tokenizer that adds the model's special tokens and truncates.

    Args:
        tokenizer: A ``transformers`` tokenizer (pretrained, or trained locally).
        max_length: Most ids per text, special tokens included (``[CLS] ... [SEP]`` kept).
        source: Where it comes from, for messages.
    """

    def __init__(self, tokenizer: HFTokenizer, max_length: int, source: str) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.source = source
        pad = tokenizer.pad_token_id  # GPT-2 has none: <|endoftext|> pads
        self.pad_id = int(pad if pad is not None else tokenizer.eos_token_id or 0)

    def encode(self, text: str) -> list[int]:
        """Token ids of a text with the model's special tokens, at most ``max_length``.

        Args:
            text: Any text.

        Returns:
            The ids.
        """
        encoded = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return list(encoded["input_ids"])

    def __len__(self) -> int:
        """Number of ids the tokenizer can produce.

        Returns:
            Its vocabulary size, added tokens included.
        """
        return len(self.tokenizer)


def hub_reachable(timeout: float = HUB_TIMEOUT) -> bool:
    """Whether the Hugging Face hub answers (one TCP connection, no retries).

    Args:
        timeout: Seconds to wait.

    Returns:
        False when ``HF_HUB_OFFLINE`` is set or the endpoint cannot be reached.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def train_local_tokenizer(
    texts: Iterable[str], capacity: int, layout: str, lowercase: bool = True
) -> HFTokenizer:
    """Train a WordPiece (``bert``) or BPE (``roberta``, ``gpt2``) tokenizer on the texts.

    Args:
        texts: Training texts only.
        capacity: Largest vocabulary, special tokens included (the embedding's rows).
        layout: A :data:`LOCAL_SPECIALS` key: the special tokens and their ids.
        lowercase: Lowercase first (the ``bert`` layout; RoBERTa and GPT-2 are cased).

    Returns:
        A ``transformers.PreTrainedTokenizerFast``.

    Raises:
        ImportError: If ``tokenizers`` or ``transformers`` is missing.
    """
    try:
        from tokenizers import Tokenizer as FastTokenizer
        from tokenizers import models, normalizers, pre_tokenizers, processors, trainers
        from transformers import PreTrainedTokenizerFast
    except ImportError as exc:
        raise ImportError(
            "data.tokenizer='pretrained' or 'wordpiece' needs transformers and tokenizers: "
            "pip install -e '.[hf]'"
        ) from exc
    specials = list(LOCAL_SPECIALS[layout])
    unk = "[UNK]" if layout == "bert" else "<unk>"
    model = models.WordPiece(unk_token=unk) if layout == "bert" else models.BPE(unk_token=unk)
    tokenizer = FastTokenizer(model)
    if layout == "bert" and lowercase:
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer_class = trainers.WordPieceTrainer if layout == "bert" else trainers.BpeTrainer
    trainer = trainer_class(vocab_size=capacity, special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(list(texts), trainer)
    if layout == "bert":
        # WordPiece training numbers its vocabulary in hash order; renumber it (specials,
        # then sorted) so the same texts always give the same ids, at inference too.
        vocabulary = tokenizer.get_vocab()
        ordered = specials + sorted(token for token in vocabulary if token not in specials)
        ids = {token: index for index, token in enumerate(ordered)}
        tokenizer.model = models.WordPiece(ids, unk_token=unk)
    named: dict[str, str] = {"unk_token": unk}
    if layout == "gpt2":
        named.update(bos_token=specials[0], eos_token=specials[0], pad_token=specials[0])
    else:
        first, last = ("[CLS]", "[SEP]") if layout == "bert" else ("<s>", "</s>")
        pad, mask = ("[PAD]", "[MASK]") if layout == "bert" else ("<pad>", "<mask>")
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{first} $A {last}",
            special_tokens=[(first, specials.index(first)), (last, specials.index(last))],
        )
        named.update(cls_token=first, sep_token=last, pad_token=pad, mask_token=mask)
    return cast(HFTokenizer, PreTrainedTokenizerFast(tokenizer_object=tokenizer, **named))


def load_pretrained_tokenizer(
    name: str,
    texts: Iterable[str],
    capacity: int,
    max_length: int,
    layout: str = "bert",
    allow_local: bool = False,
    source: str = "hub",
) -> PretrainedTokenizer:
    """The pretrained model's own tokenizer, or (where allowed) one trained on the texts.

    Args:
        name: Hub id or local folder of the pretrained model.
        texts: Training texts (only read when a local tokenizer is trained).
        capacity: Largest vocabulary of a local tokenizer (the model's ``vocab_size``).
        max_length: Most ids per text, special tokens included.
        layout: Special-token layout of a local tokenizer (``bert``, ``roberta``, ``gpt2``).
        allow_local: Whether a missing tokenizer may be replaced by a local one.
        source: ``hub`` (cache, then hub) or ``config`` (train locally; the model's random
            weights have no tokenizer of their own).

    Returns:
        The tokenizer.

    Raises:
        ImportError: If ``transformers`` is missing.
        PretrainedTokenizerError: If the tokenizer is missing and ``allow_local`` is false.
    """
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise ImportError(
            "data.tokenizer='pretrained' needs the transformers package: pip install -e '.[hf]'"
        ) from exc
    if source == "config":
        local = train_local_tokenizer(texts, capacity, layout)
        return PretrainedTokenizer(local, max_length, "trained on the training texts")
    try:
        found = AutoTokenizer.from_pretrained(name, local_files_only=True)
        return PretrainedTokenizer(cast(HFTokenizer, found), max_length, f"pretrained {name}")
    except OSError as exc:
        reason = str(exc).splitlines()[0]
    if not Path(name).exists() and hub_reachable():
        downloaded = AutoTokenizer.from_pretrained(name)
        return PretrainedTokenizer(cast(HFTokenizer, downloaded), max_length, name)
    if not allow_local:
        raise PretrainedTokenizerError(
            f"the tokenizer (and weights) of {name!r} were not found: not in the local Hugging "
            f"Face cache and the hub cannot be reached ({reason}). Fine-tuning on real data "
            "needs them: connect to the hub, or set model.hub_name to a local folder with the "
            "model's files, or pass model.allow_random_init=true to train from random weights "
            "with a tokenizer trained on these texts (not a fine-tune)"
        )
    LOGGER.warning(
        "the tokenizer of %s was not found (offline, not cached): training a %s-layout "
        "tokenizer on the training texts instead (at most %d ids)",
        name,
        layout,
        capacity,
    )
    local = train_local_tokenizer(texts, capacity, layout)
    return PretrainedTokenizer(local, max_length, "trained on the training texts")


def build_tokenizer(
    kind: str,
    texts: Iterable[str],
    capacity: int,
    lowercase: bool = True,
    hf_name: str = "",
    max_length: int = 512,
    local_layout: str = "bert",
    allow_local: bool = False,
    source: str = "hub",
) -> Tokenizer:
    """Build the configured tokenizer.

    Args:
        kind: ``"char"``, ``"word"``, ``"wordpiece"``, ``"hf"`` or ``"pretrained"``.
        texts: Training texts (for ``char``, ``word``, ``wordpiece`` and a local
            ``pretrained`` stand-in).
        capacity: Maximum vocabulary size (the model's ``vocab_size``).
        lowercase: Lowercase before splitting (``char`` and ``word``).
        hf_name: Local folder or cached name of the Hugging Face tokenizer (``hf``), or the
            pretrained model's hub id or folder (``pretrained``).
        max_length: Most ids per text (``pretrained``: special tokens included).
        local_layout: Layout of a local stand-in for a missing ``pretrained`` tokenizer.
        allow_local: Whether such a stand-in is allowed.
        source: ``pretrained``: ``hub`` loads the tokenizer, ``config`` trains a stand-in.

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the kind is unknown, or a Hugging Face tokenizer is larger than
            ``capacity``.
        PretrainedTokenizerError: If a pretrained tokenizer is missing and no stand-in is
            allowed.
    """
    if kind == "pretrained":
        pretrained = load_pretrained_tokenizer(
            hf_name, texts, capacity, max_length, local_layout, allow_local, source
        )
        if len(pretrained) > capacity:
            raise ValueError(
                f"the tokenizer of {hf_name} has {len(pretrained)} ids but data.vocab_size is "
                f"{capacity}; set data.vocab_size={len(pretrained)}"
            )
        return pretrained
    if kind == "wordpiece":
        # BERT's tokenizer, trained on the training split: [PAD]=0, [CLS] text [SEP].
        trained = train_local_tokenizer(texts, capacity, "bert", lowercase)
        return PretrainedTokenizer(trained, max_length, "WordPiece trained on the training texts")
    if kind == "hf":
        tokenizer = HuggingFaceTokenizer(hf_name)
        if len(tokenizer) > capacity:
            raise ValueError(
                f"the Hugging Face tokenizer has {len(tokenizer)} ids but data.vocab_size is "
                f"{capacity}; set data.vocab_size={len(tokenizer)}"
            )
        return tokenizer
    if kind not in SPLITTERS:
        raise ValueError(
            f"unknown data.tokenizer {kind!r}; choose char, word, wordpiece, hf or pretrained"
        )
    return Vocabulary.build(texts, capacity, level=kind, lowercase=lowercase)
