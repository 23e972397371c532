"""The result of requirement analysis, whichever backend produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlgen.spec import Spec


@dataclass
class Usage:
    """What one LLM request cost.

    Attributes:
        input_tokens: Prompt tokens billed.
        output_tokens: Completion tokens billed.
        seconds: Wall time of the request, retries included.
        requests: HTTP requests made (re-asks and retries included).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    requests: int = 0


@dataclass
class Analysis:
    """A Spec and how it was obtained.

    Attributes:
        spec: The validated Spec.
        backend: The backend that produced it ("offline", "openai", "anthropic").
        explicit: Values read literally from the request, by dotted Spec path
            (e.g. {"model.modes": 12, "dataset.name": "darcy"}). Everything else
            was defaulted and is listed in ``spec.assumptions``.
        notes: Messages for the user (a fallback to offline, a merge conflict).
        usage: Tokens and time, for LLM backends.
    """

    spec: Spec
    backend: str = "offline"
    explicit: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    usage: Usage | None = None
