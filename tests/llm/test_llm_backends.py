"""Both LLM backends through their real SDKs against the scripted server."""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic
import pytest

from dlgen.agent.llm import analyze_with_backend, errors
from dlgen.agent.llm.schema import SCHEMA_NAME, llm_schema
from tests.llm.llm_fakes import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    REQUEST,
    FakeLLMServer,
    Scripted,
    anthropic_reply,
    as_text,
    error_reply,
    llm_content,
    openai_reply,
    reply_for,
)

APIS = ("openai", "anthropic")
KEYS = (OPENAI_KEY, ANTHROPIC_KEY)
BAD_HEADS = llm_content(model__num_heads=5)  # 5 does not divide hidden_dim 192


def _analyze(api: str, **options: Any) -> Any:
    return analyze_with_backend(REQUEST, api, **options)


def _texts_sent(body: dict[str, Any]) -> str:
    """Everything a request told the model, as one string."""
    return json.dumps([body.get("system"), body["messages"]], ensure_ascii=False)


@pytest.fixture(autouse=True)
def _stub_offline(offline_stub: dict[str, Any]) -> None:
    """These tests exercise the LLM path; the offline analyzer agrees with the content."""


@pytest.mark.parametrize("api", APIS)
def test_valid_spec_in_one_request(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, reply_for(api, as_text(llm_content())))
    analysis = _analyze(api, model="test-model-x")
    spec = analysis.spec
    assert analysis.backend == api
    assert (spec.model.family, spec.model.patch_size, spec.training.batch_size) == ("vit", 4, 128)
    assert spec.request == REQUEST and spec.language == "en"
    assert spec.dataset.splits == {"train": 50_000, "test": 10_000}  # filled from the catalog
    assert analysis.usage is not None
    assert (analysis.usage.input_tokens, analysis.usage.output_tokens) == (100, 40)
    assert analysis.usage.requests == 1 and analysis.usage.seconds > 0
    [sent] = llm_env.requests
    assert sent.body["model"] == "test-model-x"
    assert REQUEST in _texts_sent(sent.body)


def test_openai_sends_the_strict_schema(llm_env: FakeLLMServer) -> None:
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    _analyze("openai", max_tokens=777)
    body = llm_env.requests[0].body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": llm_schema(), "strict": True},
    }
    assert body["max_completion_tokens"] == 777
    assert body["messages"][0]["role"] == "system"
    assert "cifar10" in body["messages"][0]["content"]  # the catalog is rendered in


def test_anthropic_sends_the_schema_as_output_format(llm_env: FakeLLMServer) -> None:
    llm_env.script("anthropic", anthropic_reply(text=as_text(llm_content())))
    _analyze("anthropic", max_tokens=777)
    body = llm_env.requests[0].body
    assert body["output_config"]["format"] == {
        "type": "json_schema",
        "schema": anthropic.transform_schema(llm_schema()),
    }
    assert body["max_tokens"] == 777
    assert "cifar10" in body["system"]


def test_anthropic_tool_mode(llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLGEN_OUTPUT_MODE", "tool")
    llm_env.script(
        "anthropic",
        anthropic_reply(tool_input=BAD_HEADS, stop="tool_use"),
        anthropic_reply(tool_input=llm_content(), stop="tool_use"),
    )
    analysis = _analyze("anthropic")
    assert analysis.spec.model.num_heads == 3
    first, second = (r.body for r in llm_env.requests)
    assert first["tools"][0]["input_schema"] == llm_schema()
    assert first["tool_choice"] == {"type": "tool", "name": SCHEMA_NAME}
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True
    assert "does not divide" in result["content"]


def test_openai_json_object_mode_puts_the_schema_in_the_prompt(
    llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLGEN_OUTPUT_MODE", "json_object")
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    _analyze("openai")
    body = llm_env.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert json.dumps(llm_schema(), ensure_ascii=False) in body["messages"][0]["content"]


@pytest.mark.parametrize("api", APIS)
def test_invalid_then_valid_reasks_once_with_the_error(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, reply_for(api, as_text(BAD_HEADS)), reply_for(api, as_text(llm_content())))
    analysis = _analyze(api)
    assert analysis.spec.model.num_heads == 3
    assert analysis.usage.requests == 2 and analysis.usage.input_tokens == 200
    first, second = (r.body for r in llm_env.requests)
    assert "does not divide" not in _texts_sent(first)
    reask = second["messages"][-1]["content"]
    assert "num_heads=5 does not divide hidden_dim=192" in reask
    assert second["messages"][-2]["role"] == "assistant"  # the bad reply is shown back


@pytest.mark.parametrize("api", APIS)
def test_three_invalid_replies_give_a_typed_error(llm_env: FakeLLMServer, api: str) -> None:
    not_json = "Sure! Here is the spec: {"
    llm_env.script(api, *(reply_for(api, t) for t in (not_json, not_json, as_text(BAD_HEADS))))
    with pytest.raises(errors.InvalidSpecReply) as caught:
        _analyze(api)
    error = caught.value
    assert error.attempts == 3 and len(llm_env.requests) == 3
    assert error.last_reply == as_text(BAD_HEADS)
    assert "does not divide" in str(error) and "--backend offline" in str(error)
    assert error.usage.requests == 3
    assert "not valid JSON" in llm_env.requests[1].body["messages"][-1]["content"]


@pytest.mark.parametrize("api", APIS)
def test_max_reasks_bounds_the_attempts(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, reply_for(api, as_text(BAD_HEADS)))
    with pytest.raises(errors.InvalidSpecReply) as caught:
        _analyze(api, max_reasks=0)
    assert caught.value.attempts == 1 and len(llm_env.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_429_is_retried(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(
        api, error_reply(api, 429, "rate limited"), reply_for(api, as_text(llm_content()))
    )
    analysis = _analyze(api)
    assert analysis.spec.model.family == "vit"
    assert analysis.usage.requests == 2 and len(llm_env.requests) == 2


@pytest.mark.parametrize("api", APIS)
def test_500_twice_then_200(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(
        api,
        error_reply(api, 500, "boom"),
        error_reply(api, 500, "boom"),
        reply_for(api, as_text(llm_content())),
    )
    analysis = _analyze(api)
    assert analysis.usage.requests == 3 and len(llm_env.requests) == 3


@pytest.mark.parametrize("api", APIS)
def test_5xx_past_the_retries_is_service_unavailable(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, *(error_reply(api, 503, "overloaded") for _ in range(3)))
    with pytest.raises(errors.ServiceUnavailable, match="503") as caught:
        _analyze(api)
    assert len(llm_env.requests) == 3 and caught.value.usage.requests == 3


@pytest.mark.parametrize(("api", "key"), list(zip(APIS, KEYS, strict=True)))
def test_401_is_not_retried_and_names_the_key_variable(
    llm_env: FakeLLMServer, api: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm_env.script(api, error_reply(api, 401, f"Incorrect API key provided: {key}"))
    with pytest.raises(errors.AuthenticationFailed) as caught:
        _analyze(api, verbose=True)
    message = str(caught.value)
    assert len(llm_env.requests) == 1
    assert "401" in message and f"{api.upper()}_API_KEY" in message
    assert key not in message and key not in caplog.text
    assert key[:12] not in message  # no recognisable part of it either


@pytest.mark.parametrize("api", APIS)
def test_slow_reply_past_the_timeout_is_retried(llm_env: FakeLLMServer, api: str) -> None:
    slow = Scripted(body={}, delay=1.5)
    llm_env.script(api, slow, reply_for(api, as_text(llm_content())))
    analysis = _analyze(api, timeout=0.3, max_retries=1)
    assert analysis.usage.requests == 2


@pytest.mark.parametrize("api", APIS)
def test_timeouts_past_the_retries(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, Scripted(body={}, delay=1.5))
    with pytest.raises(errors.ServiceUnavailable, match="no answer within 0.3 s") as caught:
        _analyze(api, timeout=0.3, max_retries=0)
    assert "--timeout" in str(caught.value)


@pytest.mark.parametrize("api", APIS)
def test_refusal(llm_env: FakeLLMServer, api: str) -> None:
    said = "I can't help with that."
    reply = (
        openai_reply(None, refusal=said)
        if api == "openai"
        else anthropic_reply(text=said, stop="refusal")
    )
    llm_env.script(api, reply)
    with pytest.raises(errors.Refused, match="refused") as caught:
        _analyze(api)
    assert said in str(caught.value) and len(llm_env.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_truncated_reply(llm_env: FakeLLMServer, api: str) -> None:
    cut = as_text(llm_content())[:60]
    reply = (
        openai_reply(cut, finish_reason="length")
        if api == "openai"
        else anthropic_reply(text=cut, stop="max_tokens")
    )
    llm_env.script(api, reply)
    with pytest.raises(errors.Truncated, match="token limit") as caught:
        _analyze(api, max_tokens=50)
    assert "--max-tokens" in str(caught.value) and "50 tokens" in str(caught.value)
    assert len(llm_env.requests) == 1  # a re-ask would be cut off again
    assert caught.value.usage.output_tokens == 40


@pytest.mark.parametrize("api", APIS)
def test_server_rejecting_json_schema_output(llm_env: FakeLLMServer, api: str) -> None:
    field = "response_format" if api == "openai" else "output_config.format"
    llm_env.script(
        api, error_reply(api, 400, f"Invalid parameter: {field} json_schema unsupported")
    )
    with pytest.raises(errors.SchemaUnsupported, match="rejected JSON-schema") as caught:
        _analyze(api)
    assert "DLGEN_OUTPUT_MODE" in str(caught.value) and len(llm_env.requests) == 1


@pytest.mark.parametrize("api", APIS)
def test_unknown_model_is_a_clear_rejection(llm_env: FakeLLMServer, api: str) -> None:
    llm_env.script(api, error_reply(api, 404, "model 'nope' not found"))
    with pytest.raises(errors.RequestRejected, match="404") as caught:
        _analyze(api, model="nope")
    assert "--model" in str(caught.value)


def test_both_backends_give_the_same_spec(llm_env: FakeLLMServer) -> None:
    content = as_text(llm_content())
    llm_env.script("openai", openai_reply(content))
    llm_env.script("anthropic", anthropic_reply(text=content))
    from_openai, from_anthropic = _analyze("openai").spec, _analyze("anthropic").spec
    assert from_openai == from_anthropic
    assert from_openai.to_yaml() == from_anthropic.to_yaml()


@pytest.mark.parametrize(("api", "key"), list(zip(APIS, KEYS, strict=True)))
def test_key_never_in_logs_spec_or_errors(
    llm_env: FakeLLMServer, api: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm_env.script(api, reply_for(api, as_text(BAD_HEADS)), reply_for(api, as_text(llm_content())))
    analysis = _analyze(api, verbose=True)
    assert "does not divide" in caplog.text  # verbose logging did run
    assert key not in caplog.text
    assert key not in analysis.spec.to_json() and key not in repr(analysis)
    llm_env.script(api, error_reply(api, 500, f"upstream said: key {key} failed"))
    with pytest.raises(errors.ServiceUnavailable) as caught:
        _analyze(api, max_retries=0)
    assert key not in str(caught.value) and "***" in str(caught.value)
    assert key not in caplog.text
