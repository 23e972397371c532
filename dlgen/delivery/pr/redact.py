"""Keep secrets out of everything the bot prints, logs, commits or sends."""

from __future__ import annotations

import base64

MASK = "***"
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces registered secrets (and the encodings git sends them in) with ``***``.

    A token reaches git as ``AUTHORIZATION: basic base64("x-access-token:<token>")``,
    so that form is registered too; an error message echoing the header stays clean.
    """

    def __init__(self, *secrets: str) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Register a secret; empty or very short values are ignored."""
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            return
        self._secrets.add(secret)
        self._secrets.add(basic_auth(secret))

    def __call__(self, text: str) -> str:
        """``text`` with every registered secret masked, longest first."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._secrets)


def basic_auth(token: str) -> str:
    """The base64 credential GitHub accepts for a token over HTTPS git."""
    return base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
