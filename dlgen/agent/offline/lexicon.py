"""The analyzer's vocabulary, built from the catalog's names and aliases.

Nothing here is a hand-written word list of architectures or datasets: every
term comes from a family, a variant, a dataset or an unsupported entry. Matching
ignores spaces, '-', '_', '/' and '.', respects word edges for Latin aliases
(so "ett" does not match inside "better"), prefers the longest alias, accepts a
plural "s", and falls back to fuzzy matching for typos such as "transfromer" or "resnte-50":
difflib ranks the candidates and an edit-distance budget (one edit for short
names, two for long ones) keeps ordinary words such as "context" from matching
"convnext".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from dlgen import catalog
from dlgen.agent.offline.normalize import is_cjk, normalize
from dlgen.catalog.base import Names
from dlgen.catalog.unsupported import UNSUPPORTED

_Matcher = difflib.SequenceMatcher

TermKind = Literal["family", "variant", "dataset", "unsupported"]

_SEPARATORS = frozenset(" -_/.'\"(),:;!?~[]{}|\\`*")
_FUZZY_CUTOFF = 0.8
_FUZZY_MIN_LENGTH = 5
_FUZZY_MAX_WINDOW = 3
_WORD = re.compile(r"[a-z][a-z0-9+]*|\d+")
_FUNCTION_WORDS = frozenset(
    "a an the on of in to for and or with by as at into via from is are be this that my our".split()
)
# Ordinary words of requests that are not typos of a catalog name.
_STOPWORDS = frozenset(
    """train training trained model models using with from dataset datasets data image images
    classification classifier classify segmentation segment generate generation generative
    implement implementation build create write network networks layer layers hidden heads
    epoch epochs batch size learning rate dropout activation fourier modes mode solving solve
    solver flow neural operator operators language character level small large base tiny
    predict prediction forecast forecasting steps series time sentiment translation transform
    transforms pytorch torch project reset python please simple basic deep from scratch mixed
    precision cosine warmup schedule scheduler optimizer momentum weight decay label smoothing
    early stopping gradient accumulation checkpointing compile seed input output length
    sequence features classes resolution patch width depth kernel channels latent encoder
    decoder attention vision graph node nodes text tabular regression reconstruction denoising
    diffusion reviews review movie english chinese german french about their these those
    which where there when what want need make code dimensional equation equations field
    fields lstm gelu relu tanh silu swish sigmoid leaky standard paper version
    default custom folder pixels pixel samples sample test validation split backbone
    pretrained finetune fine tune context lengths""".split()
)


@dataclass(frozen=True)
class Term:
    """One catalog thing a request can name.

    Attributes:
        kind: What it names.
        key: Family, dataset or unsupported key.
        variant: Variant key when ``kind == "variant"``.
        names: Its display names.
    """

    kind: TermKind
    key: str
    names: Names
    variant: str | None = None


@dataclass(frozen=True)
class Match:
    """A term found in the normalized request.

    Attributes:
        term: The term.
        start: Start offset in the normalized text.
        end: End offset (exclusive) in the normalized text.
        text: The matched text as the request wrote it (normalized).
        fuzzy: True when found by typo-tolerant matching.
    """

    term: Term
    start: int
    end: int
    text: str
    fuzzy: bool = False


def _char_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if "a" <= char <= "z":
        return "alpha"
    return "cjk" if is_cjk(char) else "other"


@dataclass(frozen=True)
class _Compact:
    """Text without separators, with a map back to the original offsets."""

    text: str
    index: tuple[int, ...]
    starts: tuple[bool, ...]

    @classmethod
    def of(cls, text: str) -> _Compact:
        chars: list[str] = []
        index: list[int] = []
        starts: list[bool] = []
        after_separator, previous = True, ""
        for offset, char in enumerate(text):
            if char in _SEPARATORS:
                after_separator = True
                continue
            kind = _char_class(char)
            starts.append(after_separator or kind != previous or kind in ("cjk", "other"))
            chars.append(char)
            index.append(offset)
            after_separator, previous = False, kind
        return cls("".join(chars), tuple(index), tuple(starts))

    def is_edge(self, position: int) -> bool:
        return position >= len(self.text) or self.starts[position]


def compact(alias: str) -> str:
    """The matching key of an alias: normalized, separators removed."""
    return _Compact.of(normalize(alias)).text


class Lexicon:
    """Alias table of the catalog with exact and fuzzy lookup."""

    def __init__(self, terms: Iterable[tuple[str, Term]]) -> None:
        self._table: dict[str, Term] = {}
        for alias, term in terms:
            key = compact(alias)
            if not key:
                continue
            known = self._table.get(key)
            if known is not None and known != term:
                raise RuntimeError(
                    f"alias {alias!r} names both {known.kind} {known.key}/{known.variant} and "
                    f"{term.kind} {term.key}/{term.variant}; make the catalog aliases unique"
                )
            self._table[key] = term
        self._lengths = sorted({len(key) for key in self._table}, reverse=True)
        # One matcher per key with the key as the fixed second sequence: difflib
        # caches its analysis, so each comparison only sets the first sequence.
        # Typos rarely hit the first letter, so keys are bucketed by (length, first).
        self._fuzzy_keys: dict[tuple[int, str], list[tuple[str, _Matcher[str]]]] = {}
        for key in self._table:
            if len(key) >= _FUZZY_MIN_LENGTH and key.isascii():
                matcher = difflib.SequenceMatcher(None, "", key, autojunk=False)
                self._fuzzy_keys.setdefault((len(key), key[0]), []).append((key, matcher))

    @property
    def table(self) -> dict[str, Term]:
        """Every matching key and the term it names."""
        return dict(self._table)

    def lookup(self, alias: str) -> Term | None:
        """The term an alias names exactly, if any."""
        return self._table.get(compact(alias))

    def scan(self, text: str) -> list[Match]:
        """Every term named in normalized ``text``, in order of appearance.

        Longer aliases win over shorter overlapping ones; typos are matched
        afterwards on the words no exact alias covered.
        """
        packed = _Compact.of(text)
        matches = _select(self._exact(text, packed))
        matches = _select([*matches, *self._fuzzy(text, matches)], prefer_fuzzy=True)
        return sorted(matches, key=lambda match: match.start)

    def _exact(self, text: str, packed: _Compact) -> Iterator[Match]:
        size = len(packed.text)
        for start in range(size):
            if not packed.starts[start]:
                continue
            for length in self._lengths:
                end = start + length
                if end > size:
                    continue
                term = self._table.get(packed.text[start:end])
                if term is None:
                    continue
                if packed.is_edge(end):
                    yield _match(text, packed, term, start, end)
                    break
                if packed.text[end] == "s" and packed.is_edge(end + 1):
                    yield _match(text, packed, term, start, end + 1)
                    break

    def _fuzzy(self, text: str, exact: list[Match]) -> Iterator[Match]:
        words = list(_WORD.finditer(text))
        covered = [any(m.start <= w.start() < m.end for m in exact) for w in words]
        for index, word in enumerate(words):
            token = word.group()
            letters = sum(char.isalpha() for char in token)
            if covered[index] or letters < 4 or not token[0].isalpha() or token in _STOPWORDS:
                continue
            best = self._best_window(text, words, index)
            if best is not None:
                yield best

    def _best_window(self, text: str, words: list[re.Match[str]], index: int) -> Match | None:
        best: tuple[float, int, Match] | None = None
        for first in range(max(0, index - _FUZZY_MAX_WINDOW + 1), index + 1):
            for last in range(index, min(len(words), first + _FUZZY_MAX_WINDOW)):
                window = words[first : last + 1]
                if not _adjacent(text, window) or not _plain(window, index - first):
                    continue
                joined = "".join(word.group() for word in window)
                scored = self._closest(joined)
                if scored is None:
                    continue
                ratio, key = scored
                match = Match(
                    self._table[key], window[0].start(), window[-1].end(),
                    text[window[0].start() : window[-1].end()], fuzzy=True,
                )  # fmt: skip
                if best is None or (ratio, len(key)) > best[:2]:
                    best = (ratio, len(key), match)
        return best[2] if best else None

    def _closest(self, word: str) -> tuple[float, str] | None:
        best: tuple[float, str] | None = None
        for length in range(len(word) - 2, len(word) + 3):
            for key, matcher in self._fuzzy_keys.get((length, word[0]), ()):
                matcher.set_seq1(word)
                if matcher.quick_ratio() < _FUZZY_CUTOFF:
                    continue
                ratio = matcher.ratio()
                if ratio < _FUZZY_CUTOFF or (best is not None and ratio <= best[0]):
                    continue
                if edit_distance(word, key) <= _typo_budget(key):
                    best = (ratio, key)
        return best


def _typo_budget(key: str) -> int:
    """Edits a typo of ``key`` may contain: one for short names, two for long ones."""
    return 1 if len(key) <= 8 else 2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of adjacent characters each cost one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _plain(window: list[re.Match[str]], own: int) -> bool:
    """Whether the window's other words could be part of a name (no function words)."""
    return all(
        position == own or word.group().isdigit()
        or (len(word.group()) > 1 and word.group() not in _FUNCTION_WORDS)
        for position, word in enumerate(window)
    )  # fmt: skip


def _adjacent(text: str, window: list[re.Match[str]]) -> bool:
    """Whether the words are separated only by separators (no other text)."""
    return all(
        set(text[a.end() : b.start()]) <= _SEPARATORS
        for a, b in zip(window, window[1:], strict=False)
    )


def _match(text: str, packed: _Compact, term: Term, start: int, end: int) -> Match:
    begin, finish = packed.index[start], packed.index[end - 1] + 1
    return Match(term, begin, finish, text[begin:finish])


def _select(candidates: Iterable[Match], prefer_fuzzy: bool = False) -> list[Match]:
    """Non-overlapping matches, longest first (a fuzzy window beats what it covers)."""

    def rank(match: Match) -> tuple[int, int, int]:
        return (int(prefer_fuzzy and match.fuzzy), match.end - match.start, -match.start)

    chosen: list[Match] = []
    for match in sorted(candidates, key=rank, reverse=True):
        if all(match.end <= other.start or match.start >= other.end for other in chosen):
            chosen.append(match)
    return chosen


def _catalog_terms() -> Iterator[tuple[str, Term]]:
    for family in catalog.all_families():
        term = Term("family", family.key, family.names)
        yield from ((alias, term) for alias in _aliases(family.names))
        for variant in family.variants:
            vterm = Term("variant", family.key, variant.names, variant.key)
            yield from ((alias, vterm) for alias in _aliases(variant.names))
    for entry in catalog.all_datasets():
        dterm = Term("dataset", entry.key, entry.names)
        yield from ((alias, dterm) for alias in _aliases(entry.names))
    for unsupported in UNSUPPORTED:
        uterm = Term("unsupported", unsupported.key, unsupported.names)
        yield from ((alias, uterm) for alias in _aliases(unsupported.names))


def _aliases(names: Names) -> tuple[str, ...]:
    return (names.en, names.zh, *names.aliases)


@cache
def lexicon() -> Lexicon:
    """The lexicon of the installed catalog (built once)."""
    return Lexicon(_catalog_terms())
