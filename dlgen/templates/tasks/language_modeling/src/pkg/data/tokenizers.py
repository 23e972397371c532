"""Tokenizers of the language-modeling task: characters, words, byte-level BPE, GPT-2's BPE.

``data.tokenizer`` picks one:

- ``char``: every distinct character of the corpus (:class:`.vocabulary.CharVocabulary`,
  char-rnn and nanoGPT's Shakespeare); no dependency.
- ``word``: the ``data.vocab_size - 1`` most frequent words and punctuation marks of the
  training split plus ``<unk>``; decoding joins tokens with spaces; no dependency.
- ``bpe``: byte-level BPE (GPT-2's scheme) trained on the training split with Hugging Face
  ``tokenizers`` (a requirement of the project) to ``data.vocab_size`` tokens; every byte
  sequence encodes, nothing is unknown. Training is deterministic.
- ``gpt2``: GPT-2's own 50,257-token BPE through ``tiktoken.get_encoding("gpt2")`` (downloads
  its files once; ``pip install -e '.[gpt2]'``), or the file ``data.tokenizer_file``: a Hugging
  Face ``tokenizer.json`` or a tiktoken BPE file (``<base64 token> <rank>`` lines), read
  locally. ``data.tokenizer_file`` also loads a ready ``bpe`` tokenizer instead of training.

Every tokenizer reduces to a JSON-able :meth:`Tokenizer.state`; :func:`encode_state` packs it
into a short ASCII string that the task stores in ``data.tokenizer_state``, so every checkpoint
carries its tokenizer and ``inference.py`` never rebuilds it from the training data.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from .vocabulary import CharVocabulary

if TYPE_CHECKING:
    from tokenizers import Tokenizer as HFTokenizerModel

KINDS = ("char", "word", "bpe", "gpt2")
UNK = "<unk>"
# The 256 byte symbols a byte-level BPE starts from; its merges come on top.
BYTE_ALPHABET = 256
GPT2_VOCAB_SIZE = 50_257
GPT2_ENDOFTEXT = "<|endoftext|>"
# GPT-2's pre-tokenizer pattern (tiktoken's r50k_base), for local tiktoken BPE files.
GPT2_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
_WORD = re.compile(r"<unk>|\w+|[^\w\s]|\n")


class Tokenizer(Protocol):
    """What the data pipeline, the task and ``inference.py`` need from a tokenizer.

    Attributes:
        kind: One of :data:`KINDS`.
    """

    kind: str

    @property
    def size(self) -> int:
        """Number of ids it produces (``0 .. size - 1``); the embedding needs at least this."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of a text.

        Raises:
            ValueError: If the text holds symbols the tokenizer cannot encode.
        """
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids (ids ``>= size``, unused embedding rows, are left out)."""
        ...

    def state(self) -> dict[str, Any]:
        """A JSON-able description that :func:`tokenizer_from_state` turns back into it."""
        ...


def missing_package(package: str, purpose: str, extra: str | None = None) -> ImportError:
    """The error for a package that is not installed.

    Args:
        package: The import name, e.g. ``tokenizers``.
        purpose: What needs it, e.g. ``data.tokenizer=bpe``.
        extra: The project's extra that installs it (None: a requirement of the project).

    Returns:
        An ImportError with the command that fixes it.
    """
    command = f"pip install -e '.[{extra}]'" if extra else "pip install -r requirements.txt"
    return ImportError(f"{purpose} needs the '{package}' package: {command} (or pip install {package})")


class TiktokenEncoding(Protocol):
    """The part of ``tiktoken.Encoding`` the tokenizer uses."""

    @property
    def n_vocab(self) -> int:
        """Number of tokens, special tokens included."""
        ...

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of a text, special-token text encoded as ordinary text."""
        ...

    def encode_ordinary_batch(self, text: list[str]) -> list[list[int]]:
        """Ids of several texts."""
        ...

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        """The text of ids."""
        ...


class CharTokenizer:
    """Characters to ids through a :class:`CharVocabulary`.

    Args:
        vocabulary: The character set.
    """

    kind = "char"

    def __init__(self, vocabulary: CharVocabulary) -> None:
        self.vocabulary = vocabulary

    @property
    def size(self) -> int:
        """Number of characters."""
        return len(self.vocabulary)

    def encode(self, text: str) -> list[int]:
        """Ids of a text's characters.

        Args:
            text: Text made of known characters.

        Returns:
            One id per character.
        """
        return self.vocabulary.encode_list(text)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ids (ids beyond the vocabulary become ``?``).

        Args:
            ids: Character ids.

        Returns:
            The text.
        """
        return self.vocabulary.decode(ids)

    def state(self) -> dict[str, Any]:
        """The symbols, in id order.

        Returns:
            ``{"kind": "char", "symbols": [...]}``.
        """
        return {"kind": self.kind, "symbols": self.vocabulary.symbols}


class WordTokenizer:
    """Words and punctuation marks to ids; unknown words become ``<unk>`` (id 0).

    Args:
        words: The known words in id order, ``<unk>`` first.

    Raises:
        ValueError: If ``<unk>`` is not first or words repeat.
    """

    kind = "word"

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        if not self.words or self.words[0] != UNK:
            raise ValueError(f"a word vocabulary starts with {UNK!r}")
        if len(set(self.words)) != len(self.words):
            raise ValueError("word vocabulary entries must be unique")
        self._ids = {word: index for index, word in enumerate(self.words)}

    @classmethod
    def train(cls, text: str, vocab_size: int) -> WordTokenizer:
        """Keep the ``vocab_size - 1`` most frequent tokens of a text (ties: alphabetical).

        Args:
            text: The training split.
            vocab_size: Ids in all, ``<unk>`` included.

        Returns:
            The tokenizer.
        """
        counts = Counter(_WORD.findall(text))
        ranked = sorted(counts, key=lambda word: (-counts[word], word))
        return cls([UNK, *ranked[: max(vocab_size - 1, 0)]])

    @property
    def size(self) -> int:
        """Number of words, ``<unk>`` included."""
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        """Ids of a text's words, punctuation marks and line breaks.

        Args:
            text: Any text.

        Returns:
            One id per token.
        """
        return [self._ids.get(word, 0) for word in _WORD.findall(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens joined by spaces (none around line breaks).

        Args:
            ids: Word ids.

        Returns:
            The text.
        """
        words = [self.words[index] if 0 <= index < self.size else UNK for index in ids]
        return " ".join(words).replace(" \n ", "\n").replace(" \n", "\n").replace("\n ", "\n")

    def state(self) -> dict[str, Any]:
        """The words, in id order.

        Returns:
            ``{"kind": "word", "words": [...]}``.
        """
        return {"kind": self.kind, "words": self.words}


class HFTokenizer:
    """A Hugging Face ``tokenizers.Tokenizer`` (byte-level BPE, or a ``tokenizer.json``).

    Args:
        tokenizer: The ``tokenizers.Tokenizer``.
        kind: ``bpe`` or ``gpt2``.
    """

    def __init__(self, tokenizer: HFTokenizerModel, kind: str) -> None:
        self.tokenizer = tokenizer
        self.kind = kind

    @classmethod
    def train(cls, text: str, vocab_size: int) -> HFTokenizer:
        """Train a byte-level BPE on a text (GPT-2's pre-tokenizer and byte alphabet).

        Args:
            text: The training split.
            vocab_size: Target size: 256 byte symbols plus ``vocab_size - 256`` merges
                (fewer when the text runs out of pairs to merge).

        Returns:
            The tokenizer.

        Raises:
            ImportError: If ``tokenizers`` is not installed.
        """
        try:
            from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        except ImportError as exc:
            raise missing_package("tokenizers", "data.tokenizer=bpe") from exc
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
        return cls(tokenizer, "bpe")

    @classmethod
    def from_json(cls, text: str, kind: str) -> HFTokenizer:
        """Load the text of a ``tokenizer.json``.

        Args:
            text: The JSON.
            kind: ``bpe`` or ``gpt2``.

        Returns:
            The tokenizer.

        Raises:
            ImportError: If ``tokenizers`` is not installed.
        """
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise missing_package("tokenizers", "a tokenizer.json") from exc
        return cls(Tokenizer.from_str(text), kind)

    @property
    def size(self) -> int:
        """Number of tokens, added tokens included."""
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        """Token ids of a text.

        Args:
            text: Any text.

        Returns:
            The ids.
        """
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of several texts, encoded in parallel.

        Args:
            texts: Texts.

        Returns:
            One id list per text.
        """
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [list(encoding.ids) for encoding in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids.

        Args:
            ids: Token ids.

        Returns:
            The text (ids outside the vocabulary left out).
        """
        return str(self.tokenizer.decode([i for i in ids if 0 <= i < self.size]))

    def to_json(self) -> str:
        """The ``tokenizer.json`` text (loadable by ``tokenizers.Tokenizer.from_file``).

        Returns:
            The JSON.
        """
        return str(self.tokenizer.to_str())

    def state(self) -> dict[str, Any]:
        """The ``tokenizer.json`` text.

        Returns:
            ``{"kind": ..., "hf_json": ...}``.
        """
        return {"kind": self.kind, "hf_json": self.to_json()}


class TiktokenTokenizer:
    """A tiktoken encoding: GPT-2's by name, or one read from a local BPE file.

    Args:
        encoding: The ``tiktoken.Encoding``.
        source: ``{"encoding": "gpt2"}`` or ``{"tiktoken_bpe": <file text>}``, for
            :meth:`state`.
    """

    kind = "gpt2"

    def __init__(self, encoding: TiktokenEncoding, source: dict[str, str]) -> None:
        self.encoding = encoding
        self.source = source

    @classmethod
    def named(cls, name: str = "gpt2") -> TiktokenTokenizer:
        """``tiktoken.get_encoding(name)`` (downloads its files on first use, then caches).

        Args:
            name: The encoding name.

        Returns:
            The tokenizer.

        Raises:
            ImportError: If ``tiktoken`` is not installed.
        """
        tiktoken = _import_tiktoken()
        return cls(tiktoken.get_encoding(name), {"encoding": name})

    @classmethod
    def from_bpe_text(cls, text: str) -> TiktokenTokenizer:
        """An encoding from the text of a tiktoken BPE file, with GPT-2's pattern.

        Args:
            text: Lines ``<base64 token> <rank>``; ``<|endoftext|>`` gets the next id.

        Returns:
            The tokenizer.

        Raises:
            ImportError: If ``tiktoken`` is not installed.
            ValueError: If a line is malformed.
        """
        tiktoken = _import_tiktoken()
        ranks: dict[bytes, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
            except ValueError as exc:
                raise ValueError(
                    f"tiktoken BPE file, line {number}: expected '<base64 token> <rank>'"
                ) from exc
        encoding = tiktoken.Encoding(
            name="gpt2-local",
            pat_str=GPT2_PATTERN,
            mergeable_ranks=ranks,
            special_tokens={GPT2_ENDOFTEXT: len(ranks)},
        )
        return cls(encoding, {"tiktoken_bpe": text})

    @property
    def size(self) -> int:
        """Number of tokens, ``<|endoftext|>`` included."""
        return int(self.encoding.n_vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids of a text (special-token text is encoded as ordinary text).

        Args:
            text: Any text.

        Returns:
            The ids.
        """
        return list(self.encoding.encode_ordinary(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of several texts, encoded in parallel.

        Args:
            texts: Texts.

        Returns:
            One id list per text.
        """
        return [list(ids) for ids in self.encoding.encode_ordinary_batch(list(texts))]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids.

        Args:
            ids: Token ids.

        Returns:
            The text (ids outside the vocabulary left out; broken UTF-8 replaced).
        """
        return str(self.encoding.decode([i for i in ids if 0 <= i < self.size], errors="replace"))

    def state(self) -> dict[str, Any]:
        """Where the encoding comes from.

        Returns:
            ``{"kind": "gpt2", "encoding": ...}`` or ``{"kind": "gpt2", "tiktoken_bpe": ...}``.
        """
        return {"kind": self.kind, **self.source}


def _import_tiktoken() -> ModuleType:
    try:
        import tiktoken
    except ImportError as exc:
        raise missing_package("tiktoken", "data.tokenizer=gpt2", extra="gpt2") from exc
    return tiktoken


def load_tokenizer_file(path: Path | str, kind: str) -> Tokenizer:
    """A tokenizer from a local file: a Hugging Face ``tokenizer.json`` or a tiktoken BPE file.

    Args:
        path: The file; ``.json`` is read as ``tokenizer.json``, anything else as tiktoken.
        kind: ``bpe`` or ``gpt2``.

    Returns:
        The tokenizer.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the kind takes no file.
    """
    if kind not in ("bpe", "gpt2"):
        raise ValueError(
            f"data.tokenizer_file is for the bpe and gpt2 tokenizers, not {kind!r}; "
            "set data.tokenizer_file=null"
        )
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"data.tokenizer_file={str(path)!r}: no such file (a Hugging Face tokenizer.json "
            "or a tiktoken BPE file)"
        )
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        return HFTokenizer.from_json(text, kind)
    return TiktokenTokenizer.from_bpe_text(text)


def fit_tokenizer(
    kind: str, vocab_size: int, train_text: str, corpus: str, tokenizer_file: str | None = None
) -> Tokenizer:
    """Build the tokenizer ``data.tokenizer`` names from the corpus.

    Args:
        kind: One of :data:`KINDS`.
        vocab_size: The capacity (char), the size (word) or the BPE target size.
        train_text: The training split (word and BPE vocabularies come from it alone).
        corpus: Every split (the character set is the corpus's, as in char-rnn).
        tokenizer_file: A local tokenizer file to load instead (bpe, gpt2).

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the kind is unknown.
    """
    if tokenizer_file is not None:
        return load_tokenizer_file(tokenizer_file, kind)
    if kind == "char":
        return CharTokenizer(CharVocabulary.from_text(corpus))
    if kind == "word":
        return WordTokenizer.train(train_text, vocab_size)
    if kind == "bpe":
        return HFTokenizer.train(train_text, vocab_size)
    if kind == "gpt2":
        return TiktokenTokenizer.named("gpt2")
    raise ValueError(f"data.tokenizer={kind!r} is not one of {list(KINDS)}")


def tokenizer_from_state(state: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.state`.

    Args:
        state: The mapping.

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the mapping describes no known tokenizer.
    """
    kind = state.get("kind")
    if kind == "char" and "symbols" in state:
        return CharTokenizer(CharVocabulary(state["symbols"]))
    if kind == "word" and "words" in state:
        return WordTokenizer(state["words"])
    if kind in ("bpe", "gpt2") and "hf_json" in state:
        return HFTokenizer.from_json(str(state["hf_json"]), str(kind))
    if kind == "gpt2" and "encoding" in state:
        return TiktokenTokenizer.named(str(state["encoding"]))
    if kind == "gpt2" and "tiktoken_bpe" in state:
        return TiktokenTokenizer.from_bpe_text(str(state["tiktoken_bpe"]))
    raise ValueError(f"not a tokenizer state: keys {sorted(state)}")


def encode_state(tokenizer: Tokenizer) -> str:
    """Pack a tokenizer into an ASCII string for ``data.tokenizer_state``.

    zlib-compressed JSON in base64: short, and free of ``${`` (which the config would read
    as an interpolation).

    Args:
        tokenizer: Any tokenizer.

    Returns:
        The string.
    """
    raw = json.dumps(tokenizer.state(), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode_state(text: str) -> Tokenizer:
    """Unpack :func:`encode_state`.

    Args:
        text: The string.

    Returns:
        The tokenizer.

    Raises:
        ValueError: If the string is not a packed tokenizer.
    """
    try:
        state = json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8"))
    except (ValueError, zlib.error) as exc:
        raise ValueError("data.tokenizer_state is not a tokenizer written by this project") from exc
    if not isinstance(state, dict):
        raise ValueError("data.tokenizer_state is not a tokenizer written by this project")
    return tokenizer_from_state(state)
