"""What every LLM backend provides, and the registry that finds them by name.

A backend turns a :class:`Conversation` into one :class:`Reply` through its SDK
(:meth:`LLMBackend.send`) and knows how to append a re-ask
(:meth:`LLMBackend.follow_up`). The re-ask loop, validation and merging are shared
(:mod:`dlgen.agent.llm.loop`, :mod:`dlgen.agent.llm.merge`). Adding a provider means
adding one module with a subclass decorated by :func:`register`.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from dlgen.agent.analysis import Usage
from dlgen.agent.llm import errors
from dlgen.agent.llm.redact import ScrubFilter, register_secret
from dlgen.agent.llm.settings import Settings, resolve
from dlgen.errors import UsageError

log = logging.getLogger("dlgen.agent.llm")
log.addFilter(ScrubFilter())

SCHEMA_REJECTION_MARKERS = (
    "response_format",
    "json_schema",
    "output_config",
    "output_format",
    "structured output",
    "structured_output",
    "input_schema",
)


@dataclass
class Conversation:
    """The messages of one analysis: a system prompt and alternating turns."""

    system: str
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Reply:
    """One model reply.

    Attributes:
        text: The reply as text (the JSON the model wrote, or the tool input as JSON).
        data: The decoded object when the SDK already decoded it (tool input), else None.
        input_tokens: Prompt tokens billed.
        output_tokens: Completion tokens billed.
        requests: HTTP requests the SDK made for it (1 + its retries).
        handle: Backend-specific data for :meth:`LLMBackend.follow_up` (a tool-use id).
    """

    text: str
    data: Any = None
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 1
    handle: Any = None

    def usage(self) -> Usage:
        """This reply's cost (time is measured by the loop)."""
        return Usage(self.input_tokens, self.output_tokens, 0.0, self.requests)


class LLMBackend(ABC):
    """An LLM provider behind the common analysis loop.

    Class attributes:
        name: Registry key and ``Analysis.backend`` value.
        title: Display name for messages.
        key_env: Environment variable holding the API key.
        base_url_env: Environment variable holding a base URL override.
        default_model: Model used when neither option nor environment names one.
        output_modes: Ways to request structured output; the first is the default.
        priority: Order under ``--backend auto`` (lower first).
        key_hint: Where to get a key.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    key_env: ClassVar[str]
    base_url_env: ClassVar[str]
    default_model: ClassVar[str]
    output_modes: ClassVar[tuple[str, ...]]
    priority: ClassVar[int] = 100
    key_hint: ClassVar[str] = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        register_secret(settings.api_key)

    @classmethod
    def find_key(cls) -> str | None:
        """The API key from the environment, or None."""
        return os.environ.get(cls.key_env) or None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LLMBackend:
        """Build the backend from CLI options and the environment.

        Raises:
            MissingCredentials: If no key is configured (and no custom base URL was given).
            UsageError: If an option is out of range.
        """
        key = cls.find_key()
        explicit_url = options.get("base_url") or os.environ.get(cls.base_url_env)
        if key is None and not explicit_url:
            raise errors.MissingCredentials(
                f"{cls.title}: no API key; {cls.key_env} is not set",
                backend=cls.name,
                hint=f"set {cls.key_env} ({cls.key_hint}), point --base-url at a local "
                "compatible server, or use --backend offline",
            )
        settings = resolve(
            cls.name,
            default_model=cls.default_model,
            base_url_env=cls.base_url_env,
            output_modes=cls.output_modes,
            api_key=key or "no-key",  # local compatible servers accept any key
            options=options,
        )
        return cls(settings)

    @property
    def where(self) -> str:
        """The server, for messages: the base URL or the provider's name."""
        return self.settings.base_url or f"the {self.title} API"

    def schema_hint(self) -> str:
        """What to do when the server rejects JSON-schema output."""
        return "use a model and server with JSON-schema structured output, or --backend offline"

    @abstractmethod
    def send(self, conversation: Conversation) -> Reply:
        """Ask the model once for a Spec.

        Raises:
            LLMError: A subclass naming the cause (auth, refusal, truncation, ...).
        """

    @abstractmethod
    def follow_up(self, conversation: Conversation, reply: Reply, feedback: str) -> None:
        """Append the model's ``reply`` and the re-ask ``feedback`` to ``conversation``."""

    # Errors ------------------------------------------------------------------------------

    def error(self, kind: type[errors.LLMError], message: str, hint: str, **extra: Any) -> Any:
        """An error of ``kind`` for this backend (scrubbed by the error class)."""
        return kind(
            f"{self.title} ({self.settings.model}): {message}",
            backend=self.name,
            hint=hint,
            **extra,
        )

    def translate(self, exc: Exception, table: Mapping[type[Exception], str]) -> errors.LLMError:
        """Map an SDK exception to a dlgen error through ``table`` (SDK class -> kind)."""
        for sdk_class, kind in table.items():
            if isinstance(exc, sdk_class):
                return _TRANSLATORS[kind](self, exc)
        return self.error(
            errors.RequestRejected,
            f"unexpected failure: {exc}",
            "retry with -v for details, or use --backend offline",
        )


# Translators from an SDK exception to a dlgen error, by kind -------------------------------


def _status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


def _server_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", None) or exc)


def _auth(backend: LLMBackend, exc: Exception) -> errors.LLMError:
    return backend.error(
        errors.AuthenticationFailed,
        f"{backend.where} rejected the API key (HTTP {_status(exc)})",
        f"check {backend.key_env}: it must be a valid, active key for this server; "
        "or use --backend offline",
        usage=Usage(requests=1),
    )


def _unavailable(backend: LLMBackend, exc: Exception) -> errors.LLMError:
    settings = backend.settings
    status = _status(exc)
    cause = (
        f"HTTP {status} ({_server_message(exc)})"
        if status
        else (
            f"no answer within {settings.timeout:g} s"
            if "Timeout" in type(exc).__name__
            else f"connection failed ({exc})"
        )
    )
    tries = settings.max_retries + 1
    return backend.error(
        errors.ServiceUnavailable,
        f"{backend.where} failed after {tries} attempt(s) with backoff: {cause}",
        "try again later, raise --timeout, check --base-url, or use --backend auto/offline",
        usage=Usage(requests=tries),
    )


def _bad_request(backend: LLMBackend, exc: Exception) -> errors.LLMError:
    message = _server_message(exc)
    if any(marker in message.lower() for marker in SCHEMA_REJECTION_MARKERS):
        return backend.error(
            errors.SchemaUnsupported,
            f"{backend.where} rejected JSON-schema structured output "
            f"(output mode {backend.settings.output_mode!r}): {message}",
            backend.schema_hint(),
            usage=Usage(requests=1),
        )
    return _rejected(backend, exc)


def _rejected(backend: LLMBackend, exc: Exception) -> errors.LLMError:
    status = _status(exc)
    hint = (
        "check --model (is the model name right for this server?) and --base-url"
        if status == 404
        else "check --model, --base-url and --max-tokens, or use --backend offline"
    )
    return backend.error(
        errors.RequestRejected,
        f"{backend.where} rejected the request (HTTP {status}): {_server_message(exc)}",
        hint,
        usage=Usage(requests=1),
    )


_TRANSLATORS: dict[str, Callable[[LLMBackend, Exception], errors.LLMError]] = {
    "auth": _auth,
    "unavailable": _unavailable,
    "bad_request": _bad_request,
    "rejected": _rejected,
}


# Registry ------------------------------------------------------------------------------------

_REGISTRY: dict[str, type[LLMBackend]] = {}
B = TypeVar("B", bound=type[LLMBackend])


def register(cls: B) -> B:
    """Class decorator: make a backend available by its ``name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise RuntimeError(f"two LLM backends are named {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def backend_class(name: str) -> type[LLMBackend]:
    """The backend registered as ``name``.

    Raises:
        UsageError: Naming the known backends.
    """
    if name not in _REGISTRY:
        known = ", ".join(["offline", *(cls.name for cls in registered()), "auto"])
        raise UsageError(f"unknown analysis backend {name!r}; use one of: {known}")
    return _REGISTRY[name]


def registered() -> tuple[type[LLMBackend], ...]:
    """Every backend, in ``--backend auto`` order."""
    return tuple(sorted(_REGISTRY.values(), key=lambda cls: (cls.priority, cls.name)))
