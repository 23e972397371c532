"""Settings precedence and key scrubbing."""

from __future__ import annotations

import logging

import pytest

from dlgen.agent.llm.redact import MASK, ScrubFilter, register_secret, scrub
from dlgen.agent.llm.settings import DEFAULT_MAX_REASKS, DEFAULT_TIMEOUT_S, resolve
from dlgen.errors import UsageError


def _resolve(**options: object) -> object:
    return resolve(
        "openai",
        default_model="default-m",
        base_url_env="OPENAI_BASE_URL",
        output_modes=("json_schema", "json_object"),
        api_key="sk-secret-123456789",
        options=options,
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DLGEN_MODEL",
        "DLGEN_OPENAI_MODEL",
        "DLGEN_TIMEOUT",
        "OPENAI_BASE_URL",
        "DLGEN_OUTPUT_MODE",
        "DLGEN_OPENAI_OUTPUT_MODE",
        "DLGEN_MAX_REASKS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_option_then_backend_env_then_generic_env_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _resolve().model == "default-m"
    monkeypatch.setenv("DLGEN_MODEL", "generic-m")
    assert _resolve().model == "generic-m"
    monkeypatch.setenv("DLGEN_OPENAI_MODEL", "openai-m")
    assert _resolve().model == "openai-m"
    assert _resolve(model="option-m").model == "option-m"
    settings = _resolve()
    assert (settings.timeout, settings.max_reasks) == (DEFAULT_TIMEOUT_S, DEFAULT_MAX_REASKS)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    assert _resolve().base_url == "http://localhost:8000/v1"
    assert "sk-secret" not in repr(_resolve())


def test_bad_values_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="timeout"):
        _resolve(timeout=0)
    with pytest.raises(UsageError, match="json_schema, json_object"):
        _resolve(output_mode="tool")
    monkeypatch.setenv("DLGEN_MAX_REASKS", "many")
    with pytest.raises(UsageError, match="DLGEN_MAX_REASKS"):
        _resolve()


def test_scrub_hides_keys_by_value_and_by_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plainkeyvalue42")
    register_secret("registered-secret-99")
    text = (
        "env plainkeyvalue42, reg registered-secret-99, sk-proj-abcDEF123456, "
        "Authorization: Bearer abc.def.ghi123, x-api-key: zzzzzzzz1, ok text"
    )
    out = scrub(text)
    for secret in (
        "plainkeyvalue42",
        "registered-secret-99",
        "abcDEF123456",
        "abc.def.ghi123",
        "zzzzzzzz1",
    ):
        assert secret not in out
    assert out.count(MASK) >= 5 and out.endswith("ok text")
    assert scrub("nothing secret here: 3e-4, ViT-B/16") == "nothing secret here: 3e-4, ViT-B/16"


def test_scrub_filter_renders_and_scrubs_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", ("sk-abcdef123456",), None)
    assert ScrubFilter().filter(record)
    assert record.getMessage() == f"key sk-{MASK}"
