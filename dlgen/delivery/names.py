"""Project names: derive a safe one, or reject an unsafe one with a clear error."""

from __future__ import annotations

import keyword
import re
import unicodedata

from dlgen.errors import UnsafeName
from dlgen.spec import PROJECT_NAME_PATTERN

_SEPARATORS = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, fallback: str = "project") -> str:
    """Turn arbitrary text into a valid project/package name.

    Non-ASCII characters are transliterated where Unicode can decompose them and
    dropped otherwise; runs of other characters become one underscore.

    Args:
        text: Any text, e.g. a directory name.
        fallback: Used when nothing usable is left.

    Returns:
        A name matching ``^[a-z][a-z0-9_]{0,63}$``.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SEPARATORS.sub("_", ascii_text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"{fallback}_{slug}".strip("_") if slug else fallback
    slug = slug[:64].rstrip("_")
    if keyword.iskeyword(slug):
        slug = f"{slug}_project"
    return slug


def check_project_name(name: str) -> str:
    """Accept a user-given project name only if it is safe as-is.

    Args:
        name: The name the user asked for.

    Returns:
        The name, unchanged.

    Raises:
        UnsafeName: If it contains a path separator, ``..``, or does not match the
            name pattern; the message suggests a safe alternative.
    """
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        raise UnsafeName(
            f"project name {name!r} contains a path separator or '..'",
            hint=f"use a plain name such as {slugify(name)!r}",
        )
    if not PROJECT_NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise UnsafeName(
            f"project name {name!r} is not a valid Python package name "
            f"(pattern {PROJECT_NAME_PATTERN.pattern}, not a keyword)",
            hint=f"use {slugify(name)!r}",
        )
    return name
