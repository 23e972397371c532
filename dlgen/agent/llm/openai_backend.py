"""OpenAI (and OpenAI-compatible servers) through the official SDK's chat completions.

Chat completions rather than the Responses API, so that OpenAI-compatible local servers
(vLLM, llama.cpp, Ollama, LM Studio) work through ``OPENAI_BASE_URL``/``--base-url``.
Output modes: ``json_schema`` (structured outputs, ``strict: true``, with the schema of
:func:`dlgen.agent.llm.schema.llm_schema`) and ``json_object`` (JSON mode with the schema
in the system prompt) for servers without JSON-schema support.
"""

from __future__ import annotations

from typing import Any

from dlgen.agent.llm import errors
from dlgen.agent.llm.base import Conversation, LLMBackend, Reply, register
from dlgen.agent.llm.schema import SCHEMA_NAME, llm_schema


def _errors() -> dict[type[Exception], str]:
    """SDK exception class -> error kind (see :meth:`LLMBackend.translate`)."""
    import openai

    return {
        openai.AuthenticationError: "auth",
        openai.PermissionDeniedError: "auth",
        openai.RateLimitError: "unavailable",
        openai.InternalServerError: "unavailable",
        openai.APIConnectionError: "unavailable",  # timeouts included
        openai.BadRequestError: "bad_request",
        openai.UnprocessableEntityError: "bad_request",
        openai.APIStatusError: "rejected",
    }


@register
class OpenAIBackend(LLMBackend):
    """Chat completions with structured outputs."""

    name = "openai"
    title = "OpenAI"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_model = "gpt-5.4-mini"
    output_modes = ("json_schema", "json_object")
    priority = 10
    key_hint = "https://platform.openai.com/api-keys"

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        import openai  # imported on use: the SDK takes seconds to import

        self._client = openai.OpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def schema_hint(self) -> str:
        return (
            "use a model and server that support structured outputs (response_format "
            "json_schema), set DLGEN_OUTPUT_MODE=json_object for a server with JSON mode only, "
            "or use --backend offline"
        )

    def _response_format(self) -> dict[str, Any]:
        if self.settings.output_mode == "json_object":
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": llm_schema(), "strict": True},
        }

    def send(self, conversation: Conversation) -> Reply:
        import openai

        messages = [{"role": "system", "content": conversation.system}, *conversation.messages]
        try:
            raw = self._client.chat.completions.with_raw_response.create(  # type: ignore[call-overload]
                model=self.settings.model,
                messages=messages,
                response_format=self._response_format(),
                max_completion_tokens=self.settings.max_tokens,
            )
        except openai.OpenAIError as exc:
            raise self.translate(exc, _errors()) from None
        completion = raw.parse()
        usage = completion.usage
        reply = Reply(
            text="",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            requests=1 + raw.retries_taken,
        )
        if not completion.choices:
            raise self.error(
                errors.RequestRejected,
                "the server returned no choices",
                "check --base-url and --model",
            )
        choice = completion.choices[0]
        self._check_finish(reply, choice.message.refusal, choice.finish_reason)
        reply.text = choice.message.content or ""
        return reply

    def _check_finish(self, reply: Reply, refusal: str | None, finish_reason: str | None) -> None:
        if refusal or finish_reason == "content_filter":
            raise self.error(
                errors.Refused,
                f"the model refused to produce a Spec: {refusal or 'content filter'}",
                "rephrase the request as a description of a deep-learning project, "
                "or use --backend offline",
                usage=reply.usage(),
            )
        if finish_reason == "length":
            raise self.error(
                errors.Truncated,
                f"the reply was cut off at the token limit ({self.settings.max_tokens} tokens) "
                "before the Spec was complete",
                "raise --max-tokens (e.g. 8192)",
                usage=reply.usage(),
            )

    def follow_up(self, conversation: Conversation, reply: Reply, feedback: str) -> None:
        conversation.messages.append({"role": "assistant", "content": reply.text})
        conversation.messages.append({"role": "user", "content": feedback})
