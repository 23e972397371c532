"""Requirement analysis: request text in, validated Spec out.

``offline`` (the default) is deterministic and needs no key or network; the LLM
backends live in :mod:`dlgen.agent.llm` and return the same Spec.
"""

from __future__ import annotations

from typing import Any

from dlgen.agent.analysis import Analysis, Usage
from dlgen.spec import Spec

__all__ = ["Analysis", "Usage", "analyze", "analyze_detailed"]


def analyze_detailed(request: str, backend: str = "offline", **options: Any) -> Analysis:
    """Turn a request into an :class:`Analysis` (the Spec plus provenance).

    Args:
        request: The user's request, in Chinese, English or both.
        backend: "offline", "openai", "anthropic" or "auto".
        **options: Backend options (model, base_url, timeout, max_tokens, ...).

    Returns:
        The analysis.

    Raises:
        RequestNotUnderstood: If the request cannot be placed in the catalog.
        BackendError: If an LLM backend the user insisted on fails.
    """
    if backend == "offline":
        from dlgen.agent.offline import analyze_offline

        return analyze_offline(request)
    from dlgen.agent.llm import analyze_with_backend

    return analyze_with_backend(request, backend=backend, **options)


def analyze(request: str, backend: str = "offline", **options: Any) -> Spec:
    """Turn a request into a validated :class:`~dlgen.spec.Spec`.

    See :func:`analyze_detailed` for the arguments and errors.
    """
    return analyze_detailed(request, backend, **options).spec
