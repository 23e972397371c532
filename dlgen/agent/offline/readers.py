"""Regex readers: the small engine shared by number, option and task-keyword readers.

A reader is a slot name, a compiled pattern and a parser. Readers run in order
over the normalized request; a match whose span overlaps an earlier match is
skipped, and only the first value of a slot is kept, so more specific readers
are listed before generic ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Parser = Callable[["re.Match[str]"], Any]


@dataclass(frozen=True)
class Reader:
    """One way of writing one slot.

    Attributes:
        slot: What the match gives a value for (e.g. "batch_size", "precision").
        pattern: Regular expression over the normalized request.
        parse: Turns a match into the value, or None to reject the match.
    """

    slot: str
    pattern: re.Pattern[str]
    parse: Parser


@dataclass(frozen=True)
class Reading:
    """A value read from the request.

    Attributes:
        slot: The slot it fills.
        value: The parsed value.
        start: Start offset of the match in the normalized request.
        end: End offset (exclusive).
        text: The matched text.
    """

    slot: str
    value: Any
    start: int
    end: int
    text: str


def reader(slot: str, pattern: str, parse: Parser) -> Reader:
    """A reader with a compiled pattern.

    Patterns are ASCII-mode: ``\\b`` and ``\\w`` see only Latin letters and digits, so
    "用sgd" has a word edge between the ideograph and "sgd" (Unicode mode would treat
    both as word characters). The text is normalized, so digits are already ASCII.
    """
    return Reader(slot, re.compile(pattern, re.ASCII), parse)


def read_all(
    text: str, readers: Iterable[Reader], taken: list[tuple[int, int]] | None = None
) -> list[Reading]:
    """Apply readers in order, skipping overlapping matches and repeated slots.

    Args:
        text: The normalized (and masked) request.
        readers: Readers in priority order.
        taken: Spans already used by earlier readers; extended in place.

    Returns:
        The readings, in reader order.
    """
    spans = taken if taken is not None else []
    readings: list[Reading] = []
    filled: set[str] = set()
    for item in readers:
        if item.slot in filled:
            continue
        for match in item.pattern.finditer(text):
            start, end = match.span()
            if any(start < b and end > a for a, b in spans):
                continue
            value = item.parse(match)
            if value is None:
                continue
            spans.append((start, end))
            readings.append(Reading(item.slot, value, start, end, match.group()))
            filled.add(item.slot)
            break
    return readings


def as_int(match: re.Match[str]) -> int:
    """The named group ``v`` as an integer (validation rejects non-positive sizes)."""
    return int(match.group("v"))


def as_float(match: re.Match[str]) -> float | None:
    """The named group ``v`` as a float."""
    try:
        return float(match.group("v"))
    except ValueError:
        return None


class _Unset:
    """Marks a switch the request names without a value (e.g. "早停" without patience)."""

    def __repr__(self) -> str:
        return "<default>"


UNSET: Any = _Unset()


def constant(value: Any) -> Parser:
    """A parser that always gives ``value``."""
    return lambda _match: value
