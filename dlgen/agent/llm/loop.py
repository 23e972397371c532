"""The re-ask loop: schema in, validated Spec out, a typed error at the end.

Each reply is decoded with :func:`json.loads` (never repaired), completed with the
fields dlgen owns and validated by the real :class:`~dlgen.spec.Spec`. A reply that
fails goes back to the model with the validator's messages, at most
``max_reasks`` times; then :class:`~dlgen.agent.llm.errors.InvalidSpecReply` carries
the last reply and the attempt count.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from pydantic import ValidationError

from dlgen import prompts
from dlgen.agent.analysis import Usage
from dlgen.agent.llm import errors
from dlgen.agent.llm.base import Conversation, LLMBackend, Reply, log
from dlgen.agent.llm.schema import complete_reply, llm_schema
from dlgen.spec import Spec, format_validation_error


class ReplyInvalid(Exception):
    """A reply that is not a valid Spec; the message is what the model is told."""


@dataclass
class Outcome:
    """What the loop produced: the Spec, its cost, and the attempts it took."""

    spec: Spec
    usage: Usage
    attempts: int


def parse_reply(reply: Reply, request: str) -> Spec:
    """Decode, complete and validate one reply.

    Raises:
        ReplyInvalid: With one line per problem, for the re-ask prompt.
    """
    data = reply.data
    if data is None:
        try:
            data = json.loads(reply.text)
        except json.JSONDecodeError as exc:
            raise ReplyInvalid(
                f"  - the reply is not valid JSON ({exc}); reply with the JSON object only"
            ) from None
    try:
        return Spec.model_validate(complete_reply(data, request))
    except ValidationError as exc:
        raise ReplyInvalid(format_validation_error(exc)) from None


def first_conversation(backend: LLMBackend, request: str) -> Conversation:
    """The system prompt (catalog rendered in) and the request turn."""
    inline_schema = backend.settings.output_mode == "json_object"
    system = prompts.render(
        "analyze_system",
        schema=json.dumps(llm_schema(), ensure_ascii=False) if inline_schema else None,
        **prompts.catalog_context(),
    )
    user = prompts.render("analyze_request", request=request)
    return Conversation(system=system, messages=[{"role": "user", "content": user}])


def _add(total: Usage, part: Usage | None) -> None:
    if part is not None:
        total.input_tokens += part.input_tokens
        total.output_tokens += part.output_tokens
        total.requests += part.requests


def obtain_spec(backend: LLMBackend, request: str) -> Outcome:
    """Ask ``backend`` for a Spec until it validates or the re-asks are spent.

    Raises:
        LLMError: From the backend (auth, refusal, truncation, ...) or
            :class:`~dlgen.agent.llm.errors.InvalidSpecReply`; ``usage`` is filled.
    """
    settings = backend.settings
    level = logging.INFO if settings.verbose else logging.DEBUG
    log.log(
        level,
        "%s: model %s at %s, prompts %s",
        backend.name,
        settings.model,
        backend.where,
        prompts.versions(),
    )
    conversation = first_conversation(backend, request)
    usage, started = Usage(), time.monotonic()
    max_attempts = settings.max_reasks + 1
    reply, problems = None, ""
    for attempt in range(1, max_attempts + 1):
        try:
            reply = backend.send(conversation)
        except errors.LLMError as exc:
            _add(usage, exc.usage)
            usage.seconds = time.monotonic() - started
            exc.usage, exc.attempts = usage, attempt
            raise
        _add(usage, reply.usage())
        try:
            spec = parse_reply(reply, request)
        except ReplyInvalid as invalid:
            problems = str(invalid)
            log.log(
                level,
                "%s: attempt %d/%d is not a valid Spec:\n%s",
                backend.name,
                attempt,
                max_attempts,
                problems,
            )
            if attempt < max_attempts:
                feedback = prompts.render(
                    "reask", attempt=attempt, max_attempts=max_attempts, errors=problems
                )
                backend.follow_up(conversation, reply, feedback)
            continue
        usage.seconds = time.monotonic() - started
        log.log(
            level,
            "%s: valid Spec after %d attempt(s); %d tokens in, %d out, %.2f s",
            backend.name,
            attempt,
            usage.input_tokens,
            usage.output_tokens,
            usage.seconds,
        )
        return Outcome(spec=spec, usage=usage, attempts=attempt)
    usage.seconds = time.monotonic() - started
    raise backend.error(
        errors.InvalidSpecReply,
        f"no valid Spec after {max_attempts} attempt(s); the last reply's problems:\n{problems}",
        "try a stronger model with --model, raise --max-reasks, or use --backend offline",
        attempts=max_attempts,
        last_reply=reply.text if reply else None,
        usage=usage,
    )
