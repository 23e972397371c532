"""LLM requirement analysis: OpenAI and Anthropic behind the same Spec.

:func:`analyze_with_backend` is what :func:`dlgen.agent.analyze_detailed` calls for
every backend but "offline". An LLM fills the Spec's (strict-mode) JSON schema, the
reply is validated by the real Spec with bounded re-asks, and the result is merged
with the offline analyzer's literal readings. Under "auto" the first backend with a
key is used (OpenAI, then Anthropic) and any failure falls back to the offline
analyzer with a note.

Options (each may be None; then the environment, then the default):
    model (``DLGEN_<BACKEND>_MODEL``, ``DLGEN_MODEL``), base_url (``OPENAI_BASE_URL`` /
    ``ANTHROPIC_BASE_URL``), timeout (``DLGEN_TIMEOUT``, 60 s), max_tokens
    (``DLGEN_MAX_TOKENS``, 4096), max_reasks (``DLGEN_MAX_REASKS``, 2), max_retries
    (``DLGEN_MAX_RETRIES``, 2), output_mode (``DLGEN_<BACKEND>_OUTPUT_MODE``,
    ``DLGEN_OUTPUT_MODE``), verbose.
"""

from __future__ import annotations

from typing import Any

from dlgen.agent.analysis import Analysis
from dlgen.agent.llm import anthropic_backend, openai_backend  # noqa: F401  (registration)
from dlgen.agent.llm.base import LLMBackend, backend_class, log, registered
from dlgen.agent.llm.errors import LLMError
from dlgen.agent.llm.loop import obtain_spec
from dlgen.agent.llm.merge import merge
from dlgen.errors import DlgenError
from dlgen.i18n import detect_language, pick

__all__ = ["analyze_with_backend", "backend_class", "registered"]


def _offline(request: str) -> Analysis | DlgenError:
    """The offline analysis, or the error it raised (it is a secondary source here)."""
    from dlgen.agent.offline import analyze_offline

    try:
        return analyze_offline(request)
    except DlgenError as exc:
        log.debug("offline analyzer failed: %s", exc)
        return exc


def _with_llm(request: str, backend: LLMBackend, offline: Analysis | DlgenError) -> Analysis:
    outcome = obtain_spec(backend, request)
    llm = Analysis(spec=outcome.spec, backend=backend.name, usage=outcome.usage)
    return merge(request, llm, offline if isinstance(offline, Analysis) else None)


def _fallback(
    request: str,
    offline: Analysis | DlgenError,
    note: str,
    cause: Exception | None,
    usage: Any = None,
) -> Analysis:
    if isinstance(offline, DlgenError):
        raise offline from cause
    offline.notes.append(note)
    if usage is not None:
        offline.usage = usage
    return offline


def _auto(request: str, options: dict[str, Any]) -> Analysis:
    language = detect_language(request)
    offline = _offline(request)
    candidates = [cls for cls in registered() if cls.find_key()]
    if not candidates:
        keys = " / ".join(cls.key_env for cls in registered())
        note = pick(
            language,
            f"auto: no LLM key ({keys}) is set; used the offline analyzer.",
            f"auto：未设置 LLM 密钥（{keys}），已使用离线分析器。",
        )
        return _fallback(request, offline, note, None)
    cls = candidates[0]
    try:
        return _with_llm(request, cls.from_options(options), offline)
    except LLMError as exc:
        log.info("%s failed, falling back to the offline analyzer: %s", cls.name, exc.message)
        note = pick(
            language,
            f"auto: the {cls.title} backend failed ({exc.message}); used the offline analyzer.",
            f"auto：{cls.title} 后端失败（{exc.message}），已改用离线分析器。",
        )
        return _fallback(request, offline, note, exc, exc.usage)


def analyze_with_backend(request: str, backend: str = "auto", **options: Any) -> Analysis:
    """Analyze ``request`` with an LLM backend ("openai", "anthropic") or "auto".

    Args:
        request: The user's request.
        backend: A registered backend name, or "auto".
        **options: model, base_url, timeout, max_tokens, max_reasks, max_retries,
            output_mode, verbose (None means: environment, then default).

    Returns:
        The analysis, with ``usage`` filled for LLM work.

    Raises:
        LLMError: A :class:`~dlgen.errors.BackendError` naming the cause, when a named
            backend fails (never under "auto", which falls back to offline).
        UsageError: For an unknown backend or an option out of range.
    """
    options = {key: value for key, value in options.items() if value is not None}
    if backend == "auto":
        return _auto(request, options)
    cls = backend_class(backend)
    llm_backend = cls.from_options(options)
    return _with_llm(request, llm_backend, _offline(request))
