"""Keep API keys out of messages and logs.

Known secrets (the keys in the environment and any key handed to a backend) are
replaced by value; anything shaped like a key or a bearer token is replaced by
pattern, so a key a server echoes back in an error body is hidden too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

SECRET_ENV_VARS: tuple[str, ...] = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
MASK = "***"

_KEY_SHAPES = (
    re.compile(
        r"\bsk-[A-Za-z0-9_\-]{6,}"
    ),  # OpenAI and Anthropic key prefixes (sk-, sk-ant-, sk-proj-)
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"(?i)\b(x-api-key|api[_-]?key|authorization)(\"?\s*[:=]\s*\"?)[^\s\"',}]{6,}"),
)
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`scrub` hides it wherever it appears."""
    if value and len(value) >= 6:
        _registered.add(value)


def _known_secrets() -> Iterable[str]:
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            yield value
    yield from _registered


def scrub(text: str) -> str:
    """``text`` with every known secret and key-shaped substring masked."""
    for secret in sorted(set(_known_secrets()), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _KEY_SHAPES[0].sub("sk-" + MASK, text)
    text = _KEY_SHAPES[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEY_SHAPES[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


class ScrubFilter(logging.Filter):
    """A logging filter that renders a record's message and scrubs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True
