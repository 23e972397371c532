"""Anthropic through the official SDK's Messages API.

Output modes: ``json_schema`` (structured outputs, ``output_config.format`` with the
schema of :func:`dlgen.agent.llm.schema.llm_schema` passed through the SDK's
``transform_schema``) and ``tool`` (a forced tool whose ``input_schema`` is that
schema) for models or compatible servers without structured outputs.
"""

from __future__ import annotations

import json
from typing import Any

from dlgen.agent.llm import errors
from dlgen.agent.llm.base import Conversation, LLMBackend, Reply, register
from dlgen.agent.llm.schema import SCHEMA_NAME, llm_schema


def _errors() -> dict[type[Exception], str]:
    """SDK exception class -> error kind (see :meth:`LLMBackend.translate`)."""
    import anthropic

    return {
        anthropic.AuthenticationError: "auth",
        anthropic.PermissionDeniedError: "auth",
        anthropic.RateLimitError: "unavailable",
        anthropic.InternalServerError: "unavailable",
        anthropic.APIConnectionError: "unavailable",  # timeouts included
        anthropic.BadRequestError: "bad_request",
        anthropic.UnprocessableEntityError: "bad_request",
        anthropic.APIStatusError: "rejected",
    }


TOOL_DESCRIPTION = "Submit the dlgen Spec for the user's request."


@register
class AnthropicBackend(LLMBackend):
    """Messages with structured outputs or a forced tool."""

    name = "anthropic"
    title = "Anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_model = "claude-sonnet-4-6"
    output_modes = ("json_schema", "tool")
    priority = 20
    key_hint = "https://console.anthropic.com/settings/keys"

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        import anthropic  # imported on use: the SDK takes seconds to import

        self._client = anthropic.Anthropic(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def schema_hint(self) -> str:
        return (
            "use a Claude model with structured outputs, set DLGEN_OUTPUT_MODE=tool to send "
            "the schema as a tool instead, or use --backend offline"
        )

    def _output_args(self) -> dict[str, Any]:
        if self.settings.output_mode == "tool":
            tool = {
                "name": SCHEMA_NAME,
                "description": TOOL_DESCRIPTION,
                "input_schema": llm_schema(),
            }
            return {"tools": [tool], "tool_choice": {"type": "tool", "name": SCHEMA_NAME}}
        import anthropic

        schema = anthropic.transform_schema(llm_schema())
        return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}

    def send(self, conversation: Conversation) -> Reply:
        import anthropic

        try:
            raw = self._client.messages.with_raw_response.create(
                model=self.settings.model,
                max_tokens=self.settings.max_tokens,
                system=conversation.system,
                messages=conversation.messages,  # type: ignore[arg-type]
                **self._output_args(),
            )
        except anthropic.AnthropicError as exc:
            raise self.translate(exc, _errors()) from None
        message = raw.parse()
        reply = Reply(
            text="",
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            requests=1 + raw.retries_taken,
        )
        self._check_stop(reply, message)
        for block in message.content:
            if block.type == "tool_use" and self.settings.output_mode == "tool":
                reply.data, reply.handle = block.input, block.id
                reply.text = json.dumps(block.input, ensure_ascii=False)
            elif block.type == "text":
                reply.text += block.text
        return reply

    def _check_stop(self, reply: Reply, message: Any) -> None:
        if message.stop_reason == "refusal":
            said = " ".join(b.text for b in message.content if b.type == "text").strip()
            raise self.error(
                errors.Refused,
                f"the model refused to produce a Spec{': ' + said if said else ''}",
                "rephrase the request as a description of a deep-learning project, "
                "or use --backend offline",
                usage=reply.usage(),
            )
        if message.stop_reason in ("max_tokens", "model_context_window_exceeded"):
            raise self.error(
                errors.Truncated,
                f"the reply was cut off at the token limit ({self.settings.max_tokens} tokens, "
                f"stop_reason {message.stop_reason}) before the Spec was complete",
                "raise --max-tokens (e.g. 8192)",
                usage=reply.usage(),
            )

    def follow_up(self, conversation: Conversation, reply: Reply, feedback: str) -> None:
        if reply.handle is None:
            conversation.messages.append({"role": "assistant", "content": reply.text})
            conversation.messages.append({"role": "user", "content": feedback})
            return
        tool_use = {
            "type": "tool_use",
            "id": reply.handle,
            "name": SCHEMA_NAME,
            "input": reply.data,
        }
        result = {
            "type": "tool_result",
            "tool_use_id": reply.handle,
            "is_error": True,
            "content": feedback,
        }
        conversation.messages.append({"role": "assistant", "content": [tool_use]})
        conversation.messages.append({"role": "user", "content": [result]})
