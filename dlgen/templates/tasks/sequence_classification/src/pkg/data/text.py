"""Labelled texts: local IMDB / SST-2 / AG News / CSV files, or a synthetic sentiment task.

Expected layouts under ``data.root`` (nothing is downloaded):

- ``imdb``: the extracted ``aclImdb_v1.tar.gz``: ``aclImdb/{train,test}/{neg,pos}/*.txt``
  (``aclImdb/`` may be omitted).
- ``sst2``: GLUE's ``SST-2`` folder: ``train.tsv`` and ``dev.tsv`` with a header
  ``sentence<TAB>label`` (``dev.tsv`` serves as the test split).
- ``ag_news``: ``train.csv`` and ``test.csv`` without header: ``"class","title","text"``
  with classes 1-4.
- ``csv``: ``train.csv`` (and optionally ``test.csv``) with a header ``text,label`` and
  integer labels from 0.

The validation split is carved from the training texts (``data.val_fraction``) unless a
``val`` split exists. The synthetic source needs no files: short "reviews" whose label is
decided by cue words, where a preceding negation ("not good") flips a sentiment cue, so a
model must read word order, not just count words.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .tokenizer import Tokenizer

LabelledTexts = list[tuple[str, int]]
Splits = dict[str, LabelledTexts]

POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "moving", "superb", "fun")
NEGATIVE = ("bad", "awful", "boring", "terrible", "dull", "weak", "poor", "clumsy")
NEGATIONS = ("not", "never", "hardly")
FILLERS = (
    "the film story plot actor actress scene camera music ending script director cast "
    "dialogue pacing it this that was is felt seemed looked with and a an of in on at "
    "for to very quite rather really somewhat overall honestly first second final "
    "part role moment character screen sound light movie show"
).split()
_SYLLABLES = ("ka", "lo", "mi", "ru", "ten", "vo", "zi", "pa", "qua", "se", "dor", "fen")


class EncodedTexts(Dataset[tuple[Tensor, Tensor, Tensor]]):
    """Token ids padded to a fixed length, with the real length and the label.

    Args:
        texts: ``(text, label)`` pairs.
        tokenizer: Turns a text into ids.
        max_length: Texts are cut to this many tokens and padded up to it.

    Raises:
        ValueError: If ``max_length`` is not positive.
    """

    def __init__(self, texts: LabelledTexts, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 1:
            raise ValueError(f"data.max_length must be >= 1, got {max_length}")
        self.max_length = max_length
        self.pad_id = tokenizer.pad_id
        self.ids = [tokenizer.encode(text)[:max_length] or [tokenizer.pad_id] for text, _ in texts]
        self.labels = [label for _, label in texts]

    def __len__(self) -> int:
        """Number of texts.

        Returns:
            The dataset size.
        """
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """One encoded text.

        Args:
            index: Sample index.

        Returns:
            ``(tokens, length, label)``: tokens ``(max_length,)`` int64 padded with the pad
            id, length and label as int64 scalars.
        """
        ids = self.ids[index]
        tokens = torch.full((self.max_length,), self.pad_id, dtype=torch.long)
        tokens[: len(ids)] = torch.tensor(ids, dtype=torch.long)
        return tokens, torch.tensor(len(ids)), torch.tensor(self.labels[index])


# Synthetic source ----------------------------------------------------------------------


def cue_words(num_classes: int) -> list[tuple[str, ...]]:
    """The cue words of each class: sentiment words for two classes, pseudo-words otherwise.

    Args:
        num_classes: Number of classes ``K``.

    Returns:
        ``K`` tuples of cue words.
    """
    if num_classes == 2:
        return [NEGATIVE, POSITIVE]
    words = [a + b for a in _SYLLABLES for b in _SYLLABLES if a != b]
    per_class = max(1, min(8, len(words) // num_classes))
    return [tuple(words[k * per_class : (k + 1) * per_class]) for k in range(num_classes)]


def synthetic_text(
    rng: random.Random, cues: list[tuple[str, ...]], max_words: int
) -> tuple[str, int]:
    """One synthetic text and its label.

    Each of 1-4 cue words votes for its class; a negation right before a cue cancels the
    vote, and with two classes turns it into a vote for the other class ("not good" is
    negative). The label is the class with the most votes; ties are redrawn.

    Args:
        rng: Random generator.
        cues: Cue words per class (:func:`cue_words`).
        max_words: Upper bound on the number of words.

    Returns:
        ``(text, label)``.
    """
    num_classes = len(cues)
    while True:
        votes = [0] * num_classes
        # Phrases stay whole: a cue is never inserted between a negation and its cue.
        chunks = [[rng.choice(FILLERS)] for _ in range(rng.randint(4, max(4, max_words - 8)))]
        for _ in range(rng.randint(1, 4)):
            label = rng.randrange(num_classes)
            phrase = [rng.choice(cues[label])]
            if rng.random() < 0.3:
                phrase.insert(0, rng.choice(NEGATIONS))
                if num_classes == 2:
                    votes[1 - label] += 1
            else:
                votes[label] += 1
            chunks.insert(rng.randint(0, len(chunks)), phrase)
        best = max(votes)
        if best > 0 and votes.count(best) == 1:
            # At most max_words - 8 fillers plus 4 cues of at most 2 words: <= max_words.
            return " ".join(word for chunk in chunks for word in chunk), votes.index(best)


def synthetic_splits(sizes: dict[str, int], num_classes: int, seed: int, max_words: int) -> Splits:
    """Synthetic labelled texts for every split, reproducible from the seed.

    Args:
        sizes: Samples per split, e.g. ``{"train": 4000, "val": 500, "test": 500}``.
        num_classes: Number of classes ``K`` (at least 2).
        seed: Seed of the generator.
        max_words: Longest text in words (at least 12).

    Returns:
        Split name -> ``(text, label)`` pairs.

    Raises:
        ValueError: If ``num_classes`` < 2 or ``max_words`` < 12.
    """
    if num_classes < 2:
        raise ValueError(f"the synthetic source needs num_classes >= 2, got {num_classes}")
    if max_words < 12:
        raise ValueError(f"the synthetic source needs texts of >= 12 words, got {max_words}")
    cues = cue_words(num_classes)
    splits: Splits = {}
    for offset, (name, size) in enumerate(sorted(sizes.items())):
        rng = random.Random(seed * 7919 + offset)
        splits[name] = [synthetic_text(rng, cues, max_words) for _ in range(size)]
    return splits


# Local files ---------------------------------------------------------------------------


def read_imdb(root: Path) -> Splits:
    """Read the IMDB review folders (``neg`` = 0, ``pos`` = 1).

    Args:
        root: Folder holding ``aclImdb/`` (or its ``train``/``test`` folders).

    Returns:
        ``train`` and ``test`` splits of ``(text, label)`` pairs, those found.
    """
    base = root / "aclImdb" if (root / "aclImdb").is_dir() else root
    splits: Splits = {}
    for split in ("train", "test"):
        pairs: LabelledTexts = []
        for label, folder in enumerate(("neg", "pos")):
            for path in sorted((base / split / folder).glob("*.txt")):
                text = path.read_text(encoding="utf-8").replace("<br />", " ")
                pairs.append((text, label))
        if pairs:
            splits[split] = pairs
    return splits


def read_sst2(root: Path) -> Splits:
    """Read GLUE SST-2 ``train.tsv`` and ``dev.tsv`` (as the test split).

    Args:
        root: Folder holding the ``.tsv`` files.

    Returns:
        ``train`` and ``test`` splits of ``(text, label)`` pairs, those found.
    """
    splits: Splits = {}
    for split, name in (("train", "train.tsv"), ("test", "dev.tsv")):
        path = root / name
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                splits[split] = [(row["sentence"], int(row["label"])) for row in rows]
    return splits


def read_ag_news(root: Path) -> Splits:
    """Read AG News ``train.csv`` and ``test.csv`` (classes 1-4 become 0-3).

    Args:
        root: Folder holding the ``.csv`` files.

    Returns:
        ``train`` and ``test`` splits of ``(title. text, label)`` pairs, those found.
    """
    splits: Splits = {}
    for split in ("train", "test"):
        path = root / f"{split}.csv"
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                rows = csv.reader(handle)
                splits[split] = [(f"{title}. {text}", int(cls) - 1) for cls, title, text in rows]
    return splits


def read_csv_pairs(root: Path) -> Splits:
    """Read ``{train,val,test}.csv`` files with a ``text,label`` header.

    Args:
        root: Folder holding the ``.csv`` files.

    Returns:
        The splits found, as ``(text, label)`` pairs.
    """
    splits: Splits = {}
    for split in ("train", "val", "test"):
        path = root / f"{split}.csv"
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                splits[split] = [(row["text"], int(row["label"])) for row in csv.DictReader(handle)]
    return splits


READERS: dict[str, Callable[[Path], Splits]] = {
    "imdb": read_imdb,
    "sst2": read_sst2,
    "ag_news": read_ag_news,
    "csv": read_csv_pairs,
}


def read_local(format_name: str, root: Path) -> Splits:
    """Read a local dataset in one of the :data:`READERS` layouts.

    Args:
        format_name: Key of :data:`READERS`.
        root: Folder holding the files.

    Returns:
        The splits found (empty when the files are missing).

    Raises:
        ValueError: If the format is unknown.
    """
    reader = READERS.get(format_name)
    if reader is None:
        raise ValueError(f"unknown data.format {format_name!r}; choose one of {sorted(READERS)}")
    return reader(root) if root.is_dir() else {}


def carve_validation(splits: Splits, fraction: float, seed: int) -> Splits:
    """Split a validation set off the training texts when there is no ``val`` split.

    Args:
        splits: Splits with at least ``train``.
        fraction: Share of the training texts to move to ``val``, in ``(0, 1)``.
        seed: Seed of the shuffle.

    Returns:
        Splits with ``train`` and ``val`` (and ``test`` if it was there).

    Raises:
        ValueError: If the fraction is outside ``(0, 1)`` or the training split is too small.
    """
    if "val" in splits:
        return splits
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"data.val_fraction must be in (0, 1), got {fraction}")
    train = list(splits["train"])
    random.Random(seed).shuffle(train)
    size = max(1, round(len(train) * fraction))
    if size >= len(train):
        raise ValueError(f"{len(train)} training texts are too few to hold out {fraction:.0%}")
    return {**splits, "train": train[size:], "val": train[:size]}


def check_labels(splits: Splits, num_classes: int) -> None:
    """Fail early on labels outside ``[0, num_classes)``.

    Args:
        splits: The labelled texts.
        num_classes: The configured number of classes.

    Raises:
        ValueError: Naming the split and the offending label.
    """
    for name, pairs in splits.items():
        bad = sorted({label for _, label in pairs if not 0 <= label < num_classes})
        if bad:
            raise ValueError(
                f"split {name!r} has labels {bad[:5]} outside [0, {num_classes}); "
                f"fix the files or set data.num_classes"
            )
