"""The one exception hierarchy of dlgen.

Every error says what went wrong and what the user can do about it. The CLI maps
:class:`UsageError` subclasses to exit code 2 and :class:`ValidationFailed` to 1.
"""

from __future__ import annotations


class DlgenError(Exception):
    """Base class of every error dlgen raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class UsageError(DlgenError):
    """The request, the options or the files the user gave cannot be used."""


class RequestNotUnderstood(UsageError):
    """The analyzer could not place the request in the catalog.

    Attributes:
        understood: What the analyzer did read from the request (field -> value).
        missing: What it needs and could not find.
    """

    def __init__(
        self,
        message: str,
        *,
        understood: dict[str, str] | None = None,
        missing: list[str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.understood = dict(understood or {})
        self.missing = list(missing or [])


class SpecError(UsageError):
    """A Spec (from a file, an LLM or the analyzer) does not validate."""


class FamilyNotAvailable(UsageError):
    """The Spec is valid but dlgen has no templates for its family or task yet."""


class OutputExists(UsageError):
    """The output directory exists and is not empty; pass --force to replace it."""


class UnsafeName(UsageError):
    """A project name would escape its directory or is not usable as a name."""


class BackendError(DlgenError):
    """An LLM backend failed (auth, refusal, truncation, schema rejected, retries spent)."""


class ValidationFailed(DlgenError):
    """The generated project did not pass validation."""

    exit_code = 1
