"""Backend selection: auto, fallbacks, missing keys, the analyze entry point."""

from __future__ import annotations

from typing import Any

import pytest

from dlgen.agent import analyze_detailed
from dlgen.agent.llm import analyze_with_backend, errors
from dlgen.errors import RequestNotUnderstood, UsageError
from tests.llm.llm_fakes import (
    REQUEST,
    FakeLLMServer,
    anthropic_reply,
    as_text,
    error_reply,
    llm_content,
    openai_reply,
)


@pytest.fixture
def offline(request: pytest.FixtureRequest) -> Any:
    """The real offline analyzer when it exists, else the stub of ``offline_stub``."""
    try:
        from dlgen.agent.offline import analyze_offline
    except ImportError:
        request.getfixturevalue("offline_stub")
        import dlgen.agent.offline as module

        return module.analyze_offline
    return analyze_offline


def test_auto_without_keys_uses_offline(
    llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, offline: Any
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    analysis = analyze_with_backend(REQUEST, "auto")
    assert analysis.backend == "offline"
    assert analysis.spec == offline(REQUEST).spec
    assert any("no LLM key" in note for note in analysis.notes)
    assert llm_env.requests == []


def test_auto_prefers_openai_then_anthropic(
    llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, offline: Any
) -> None:
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    assert analyze_with_backend(REQUEST, "auto").backend == "openai"
    monkeypatch.delenv("OPENAI_API_KEY")
    llm_env.script("anthropic", anthropic_reply(text=as_text(llm_content())))
    assert analyze_with_backend(REQUEST, "auto").backend == "anthropic"
    assert [r.path for r in llm_env.requests] == ["/v1/chat/completions", "/v1/messages"]


def test_auto_falls_back_to_offline_with_a_note(llm_env: FakeLLMServer, offline: Any) -> None:
    llm_env.script("openai", *(error_reply("openai", 502, "bad gateway") for _ in range(3)))
    analysis = analyze_with_backend(REQUEST, "auto")
    assert analysis.backend == "offline"
    assert analysis.spec == offline(REQUEST).spec
    [note] = analysis.notes
    assert "OpenAI" in note and "502" in note and "offline" in note
    assert analysis.usage is not None and analysis.usage.requests == 3


def test_auto_fallback_note_is_in_the_users_language(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    llm_env.script("openai", error_reply("openai", 401, "bad key"))
    analysis = analyze_with_backend("用ViT在CIFAR-10上做分类", "auto")
    assert analysis.backend == "offline" and "已改用离线分析器" in analysis.notes[0]


def test_auto_with_both_failing_raises_the_offline_error(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    offline_stub["fail"] = True
    llm_env.script("openai", error_reply("openai", 401, "bad key"))
    with pytest.raises(RequestNotUnderstood) as caught:
        analyze_with_backend(REQUEST, "auto")
    assert isinstance(caught.value.__cause__, errors.AuthenticationFailed)


def test_named_backend_without_key_says_which_variable(
    llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, offline_stub: dict[str, Any]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    with pytest.raises(errors.MissingCredentials, match="ANTHROPIC_API_KEY") as caught:
        analyze_with_backend(REQUEST, "anthropic")
    assert "--backend offline" in str(caught.value)
    assert offline_stub["calls"] == 0 and llm_env.requests == []


def test_local_server_needs_no_key(
    llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, offline_stub: dict[str, Any]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    analysis = analyze_with_backend(REQUEST, "openai", base_url=llm_env.url + "/v1")
    assert analysis.backend == "openai" and len(llm_env.requests) == 1


def test_named_backend_keeps_the_llm_result_when_offline_fails(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    offline_stub["fail"] = True
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    analysis = analyze_with_backend(REQUEST, "openai")
    assert analysis.backend == "openai" and analysis.explicit == {}


def test_named_backend_failure_is_raised_not_hidden(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    llm_env.script("openai", error_reply("openai", 401, "bad key"))
    with pytest.raises(errors.AuthenticationFailed):
        analyze_with_backend(REQUEST, "openai")


def test_analyze_detailed_routes_to_the_llm_backends(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    llm_env.script("anthropic", anthropic_reply(text=as_text(llm_content())))
    analysis = analyze_detailed(REQUEST, "anthropic", model="claude-test", max_reasks=1)
    assert analysis.backend == "anthropic"
    assert llm_env.requests[0].body["model"] == "claude-test"


def test_unknown_backend_and_bad_options_are_usage_errors(llm_env: FakeLLMServer) -> None:
    with pytest.raises(UsageError, match="offline, openai, anthropic, auto"):
        analyze_with_backend(REQUEST, "gemini")
    with pytest.raises(UsageError, match="max_reasks"):
        analyze_with_backend(REQUEST, "openai", max_reasks=99)
