"""A structured synthetic language: short scenes of a play, generated from a small grammar.

The offline source of the language-modeling task. It has real structure for a model to
learn (a fixed lexicon, agreement-free phrase grammar, speaker turns, punctuation and
line breaks) while staying unpredictable in its word choices, so perplexity falls fast
at first and then levels off above 1. The text is generated, not copied from anywhere.
"""

from __future__ import annotations

import random

SPEAKERS = ("ALDER", "BRYONY", "CORIN", "DELPHA", "EDMER", "FENWICK", "GARETH", "HOLLIS")
ADJECTIVES = (
    "old young quiet bright cold gentle proud weary silver hollow green distant brave "
    "patient restless golden bitter honest"
).split()
NOUNS = (
    "king queen river tower garden lantern letter stranger soldier harbour forest bell "
    "window road candle crown field storm mirror song"
).split()
VERBS_TRANSITIVE = (
    "keeps finds follows remembers carries answers watches guards hides opens loves fears"
).split()
VERBS_INTRANSITIVE = "waits sleeps listens returns wanders trembles sings falls".split()
PLACES = "hall gate shore hill bridge chapel market wall".split()
EXCLAMATIONS = ("Alas", "Hark", "Peace", "Enough", "Look", "Away")


def _noun_phrase(rng: random.Random) -> str:
    words = ["the"]
    if rng.random() < 0.6:
        words.append(rng.choice(ADJECTIVES))
    words.append(rng.choice(NOUNS))
    return " ".join(words)


def _clause(rng: random.Random) -> str:
    subject = _noun_phrase(rng)
    if rng.random() < 0.55:
        return f"{subject} {rng.choice(VERBS_TRANSITIVE)} {_noun_phrase(rng)}"
    if rng.random() < 0.5:
        return f"{subject} {rng.choice(VERBS_INTRANSITIVE)} by the {rng.choice(PLACES)}"
    return f"{subject} {rng.choice(VERBS_INTRANSITIVE)}"


def _sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        text = _clause(rng) + "."
    elif kind < 0.65:
        text = f"{_clause(rng)}, and {_clause(rng)}."
    elif kind < 0.8:
        noun = _noun_phrase(rng)
        text = f"why does {noun} {rng.choice(VERBS_INTRANSITIVE).removesuffix('s')}?"
    elif kind < 0.9:
        clause = _clause(rng)
        text = f"{rng.choice(EXCLAMATIONS).lower()}! {clause[0].upper()}{clause[1:]}."
    else:
        text = f"let {_noun_phrase(rng)} {rng.choice(VERBS_INTRANSITIVE).removesuffix('s')}."
    return text[0].upper() + text[1:]


def _speech(rng: random.Random) -> str:
    num_lines = 2 if rng.random() < 0.4 else 1
    lines = [" ".join(_sentence(rng) for _ in range(rng.randint(1, 2))) for _ in range(num_lines)]
    return f"{rng.choice(SPEAKERS)}:\n" + "\n".join(lines) + "\n\n"


def synthetic_corpus(num_characters: int, seed: int = 0) -> str:
    """Generate at least ``num_characters`` characters of play-like text.

    Args:
        num_characters: Minimum length of the text.
        seed: Seed of the generator; the same seed gives the same text.

    Returns:
        The text (speeches separated by blank lines), cut at a speech boundary.

    Raises:
        ValueError: If ``num_characters`` is not positive.
    """
    if num_characters < 1:
        raise ValueError(f"num_characters must be >= 1, got {num_characters}")
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < num_characters:
        speech = _speech(rng)
        parts.append(speech)
        total += len(speech)
    return "".join(parts)
