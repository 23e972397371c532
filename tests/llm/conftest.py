"""Fixtures of the LLM tests: the fake server, the environment, an offline stub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dlgen.agent.analysis import Analysis
from tests.llm.llm_fakes import ANTHROPIC_KEY, OPENAI_KEY, FakeLLMServer, fake_offline_analysis

# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    fake = FakeLLMServer()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, server: FakeLLMServer) -> FakeLLMServer:
    """Keys, base URLs and settings pointing both SDKs at the fake server."""
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "DLGEN_MODEL",
        "DLGEN_OUTPUT_MODE",
        "DLGEN_TIMEOUT",
        "DLGEN_MAX_RETRIES",
        "DLGEN_MAX_REASKS",
        "DLGEN_MAX_TOKENS",
        "DLGEN_OPENAI_MODEL",
        "DLGEN_ANTHROPIC_MODEL",
        "DLGEN_OPENAI_OUTPUT_MODE",
        "DLGEN_ANTHROPIC_OUTPUT_MODE",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CONFIG_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("DLGEN_TIMEOUT", "5")
    return server


@pytest.fixture
def offline_stub(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the offline analyzer by a stub; set ``stub["explicit"]`` or ``stub["fail"]``."""
    import dlgen.agent.offline as offline_module
    from dlgen.errors import RequestNotUnderstood

    state: dict[str, Any] = {"explicit": {}, "changes": {}, "fail": False, "calls": 0}

    def analyze_offline(request: str) -> Analysis:
        state["calls"] += 1
        if state["fail"]:
            raise RequestNotUnderstood("stub: not understood")
        return fake_offline_analysis(request, state["explicit"], **state["changes"])

    monkeypatch.setattr(offline_module, "analyze_offline", analyze_offline, raising=False)
    return state
