"""Typed errors of the LLM backends; every message names the cause and the remedy.

All of them are :class:`dlgen.errors.BackendError`, so the CLI maps them to exit
code 2, and under ``--backend auto`` any of them triggers the offline fallback.
Messages are scrubbed of anything that looks like an API key before they are stored.
"""

from __future__ import annotations

from dlgen.agent.analysis import Usage
from dlgen.agent.llm.redact import scrub
from dlgen.errors import BackendError


class LLMError(BackendError):
    """An LLM backend failed.

    Attributes:
        backend: "openai" or "anthropic".
        attempts: Model replies requested before giving up (re-asks included).
        last_reply: The model's last reply text, when there was one.
        usage: Tokens, time and HTTP requests spent before the failure.
    """

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        hint: str | None = None,
        attempts: int = 1,
        last_reply: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(scrub(message), hint=scrub(hint) if hint else None)
        self.backend = backend
        self.attempts = attempts
        self.last_reply = scrub(last_reply) if last_reply is not None else None
        self.usage = usage


class MissingCredentials(LLMError):
    """No API key is configured for the backend."""


class AuthenticationFailed(LLMError):
    """The server refused the API key (HTTP 401/403)."""


class ServiceUnavailable(LLMError):
    """Timeouts, rate limits (429), 5xx or connection errors outlasted the retries."""


class RequestRejected(LLMError):
    """The server rejected the request for another reason (unknown model, bad URL, 4xx)."""


class SchemaUnsupported(LLMError):
    """The server or model does not accept JSON-schema structured output."""


class Refused(LLMError):
    """The model declined to answer."""


class Truncated(LLMError):
    """The reply hit the token limit before the JSON was complete."""


class InvalidSpecReply(LLMError):
    """The model's replies did not validate as a Spec after every allowed re-ask."""
