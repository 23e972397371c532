"""An offline toy translation task: English-like sentences into a made-up "mirror" language.

The source is generated from a small grammar (subject, verb, object, an optional
prepositional phrase, numbers written as digits). The target follows four fixed rules, so a
model has to learn a lexicon, reordering and agreement-free morphology rather than to copy:

1. every word is spelled backwards (``king`` -> ``gnik``);
2. ``the``/``a`` become ``el``/``un``; digits are spelled out, backwards (``3`` -> ``eerht``);
3. adjectives follow their noun (``the old king`` -> ``el gnik dlo``);
4. the verb moves after the object, before the prepositional phrase (SOV order).

Example: ``the old king finds 3 silver letters by the river.`` ->
``el gnik dlo eerht srettel revlis sdnif yb el revir.``
The text is generated, not copied from anywhere; the same seed gives the same pairs.
"""

from __future__ import annotations

import random

ADJECTIVES = (
    "old young quiet bright cold gentle proud weary silver hollow green distant brave "
    "golden bitter honest"
).split()
NOUNS = (
    "king queen river tower garden lantern letter stranger soldier harbour forest bell "
    "window road candle crown field storm mirror song"
).split()
VERBS = "keeps finds follows remembers carries answers watches guards hides opens".split()
PREPOSITIONS = "by near under behind beyond".split()
NUMBERS = {"2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven"}
ARTICLES = {"the": "el", "a": "un"}


def _noun_phrase(rng: random.Random) -> tuple[list[str], list[str]]:
    """One noun phrase in both languages: ``[article|number] [adjective] noun``."""
    adjective = [rng.choice(ADJECTIVES)] if rng.random() < 0.5 else []
    noun = rng.choice(NOUNS)
    if rng.random() < 0.2:
        digit = rng.choice(sorted(NUMBERS))
        plural = noun + "s"
        source = [digit, *adjective, plural]
        target = [NUMBERS[digit][::-1], plural[::-1], *(word[::-1] for word in adjective)]
        return source, target
    article = rng.choice(sorted(ARTICLES))
    source = [article, *adjective, noun]
    return source, [ARTICLES[article], noun[::-1], *(word[::-1] for word in adjective)]


def toy_pair(rng: random.Random) -> tuple[str, str]:
    """One sentence and its translation.

    Args:
        rng: Random generator.

    Returns:
        ``(source, target)``, words separated by single spaces, ending with ``.``.
    """
    subject_src, subject_tgt = _noun_phrase(rng)
    object_src, object_tgt = _noun_phrase(rng)
    verb = rng.choice(VERBS)
    source = [*subject_src, verb, *object_src]
    target = [*subject_tgt, *object_tgt, verb[::-1]]
    if rng.random() < 0.4:
        preposition = rng.choice(PREPOSITIONS)
        place_src, place_tgt = _noun_phrase(rng)
        source += [preposition, *place_src]
        target += [preposition[::-1], *place_tgt]
    return " ".join(source) + ".", " ".join(target) + "."


def toy_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` toy sentence pairs.

    Args:
        count: Number of pairs.
        seed: Seed of the generator.

    Returns:
        The pairs, reproducible from the seed.

    Raises:
        ValueError: If ``count`` is not positive.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = random.Random(seed)
    return [toy_pair(rng) for _ in range(count)]
