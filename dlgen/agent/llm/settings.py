"""Backend settings: CLI options first, then environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dlgen.errors import UsageError

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_TOKENS = 4096
DEFAULT_MAX_REASKS = 2
DEFAULT_MAX_RETRIES = 2
MAX_RETRIES_LIMIT = 5
MAX_REASKS_LIMIT = 10

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Everything one backend call needs, resolved.

    Attributes:
        backend: Registry key ("openai", "anthropic").
        model: Model name sent to the server.
        base_url: Server URL, or None for the SDK's default.
        timeout: Seconds per HTTP request.
        max_tokens: Cap on the reply's tokens.
        max_reasks: Re-asks after a reply that does not validate.
        max_retries: SDK retries (exponential backoff with jitter) on timeouts, 429 and 5xx.
        output_mode: How structured output is requested (backend-specific, e.g. "json_schema").
        verbose: Log prompts versions, attempts and validation errors at INFO.
        api_key: The key; never printed (``repr=False``) and never written anywhere.
    """

    backend: str
    model: str
    base_url: str | None
    timeout: float
    max_tokens: int
    max_reasks: int
    max_retries: int
    output_mode: str
    verbose: bool = False
    api_key: str = field(default="", repr=False)


def _pick(option: Any, env_names: tuple[str, ...], default: T, cast: Callable[[str], T]) -> T:
    if option is not None:
        return cast(option) if isinstance(option, str) else option  # type: ignore[no-any-return]
    for name in env_names:
        raw = os.environ.get(name)
        if raw:
            try:
                return cast(raw)
            except ValueError as exc:
                raise UsageError(
                    f"environment variable {name}={raw!r} is not valid: {exc}"
                ) from exc
    return default


def _bounded(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise UsageError(f"{name}={value} is out of range; use a value from {low:g} to {high:g}")


def resolve(
    backend: str,
    *,
    default_model: str,
    base_url_env: str,
    output_modes: tuple[str, ...],
    api_key: str,
    options: Mapping[str, Any],
) -> Settings:
    """Resolve the settings of ``backend`` from options and the environment.

    Precedence: option, then ``DLGEN_<BACKEND>_<NAME>``, then ``DLGEN_<NAME>`` (and the
    SDK's own variable for the base URL), then the default.

    Raises:
        UsageError: If a value is out of range or an output mode is unknown.
    """
    prefix = f"DLGEN_{backend.upper()}_"
    settings = Settings(
        backend=backend,
        model=_pick(options.get("model"), (prefix + "MODEL", "DLGEN_MODEL"), default_model, str),
        base_url=_pick(options.get("base_url"), (base_url_env,), None, str) or None,
        timeout=_pick(options.get("timeout"), ("DLGEN_TIMEOUT",), DEFAULT_TIMEOUT_S, float),
        max_tokens=_pick(options.get("max_tokens"), ("DLGEN_MAX_TOKENS",), DEFAULT_MAX_TOKENS, int),
        max_reasks=_pick(options.get("max_reasks"), ("DLGEN_MAX_REASKS",), DEFAULT_MAX_REASKS, int),
        max_retries=_pick(
            options.get("max_retries"), ("DLGEN_MAX_RETRIES",), DEFAULT_MAX_RETRIES, int
        ),
        output_mode=_pick(
            options.get("output_mode"),
            (prefix + "OUTPUT_MODE", "DLGEN_OUTPUT_MODE"),
            output_modes[0],
            str,
        ),
        verbose=bool(options.get("verbose") or False),
        api_key=api_key,
    )
    _bounded("timeout", settings.timeout, 0.001, 3600)
    _bounded("max_tokens", settings.max_tokens, 1, 1_000_000)
    _bounded("max_reasks", settings.max_reasks, 0, MAX_REASKS_LIMIT)
    _bounded("max_retries", settings.max_retries, 0, MAX_RETRIES_LIMIT)
    if settings.output_mode not in output_modes:
        raise UsageError(
            f"output mode {settings.output_mode!r} is not available for {backend}; "
            f"use one of: {', '.join(output_modes)}"
        )
    return settings
