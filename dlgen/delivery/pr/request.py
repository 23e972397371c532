"""Where the bot's request comes from: text, a file, or a GitHub event payload.

A GitHub ``issue_comment`` event is a request only when the comment starts with
the ``/dlgen`` command; the command is stripped. An ``issues`` event (the issue
was labelled ``dlgen``) uses the issue body, or its title when the body is empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlgen.errors import UsageError

COMMAND = "/dlgen"
MAX_REQUEST_CHARS = 8000
_COMMAND_RE = re.compile(r"\A\s*/dlgen(?=[\s:]|\Z)[:\s]*", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class BotRequest:
    """A request the bot was asked to fulfil.

    Attributes:
        text: The request text, command prefix stripped, control characters removed.
        issue: The issue (or pull request) number it came from, when known.
        source: "text", "file" or "event".
        event: The GitHub event name ("issue_comment", "issues") or "".
        author: The login of the person who asked, when known.
    """

    text: str
    issue: int | None = None
    source: str = "text"
    event: str = ""
    author: str = ""


def strip_command(text: str) -> str | None:
    """The text after a leading ``/dlgen`` command, or None when there is no command."""
    match = _COMMAND_RE.match(text)
    return text[match.end() :] if match else None


def clean_request(text: str, *, origin: str) -> str:
    """Normalise newlines, drop control characters and check the length.

    Raises:
        UsageError: If nothing is left or the text is longer than MAX_REQUEST_CHARS.
    """
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise UsageError(
            f"the request from {origin} is empty",
            hint=f"write what to build, e.g. `{COMMAND} ViT-B/16 for CIFAR-10`",
        )
    if len(text) > MAX_REQUEST_CHARS:
        raise UsageError(
            f"the request from {origin} has {len(text)} characters; "
            f"at most {MAX_REQUEST_CHARS} are accepted",
            hint="describe the model, data and task in a few sentences",
        )
    return text


def from_text(text: str, *, issue: int | None = None) -> BotRequest:
    """A request given on the command line (a leading ``/dlgen`` is stripped too)."""
    stripped = strip_command(text)
    body = text if stripped is None else stripped
    return BotRequest(text=clean_request(body, origin="--request"), issue=issue)


def from_file(path: Path, *, issue: int | None = None) -> BotRequest:
    """A request read from a UTF-8 text file.

    Raises:
        UsageError: If the file cannot be read or holds no request.
    """
    text = _read_text(path, what="request file")
    stripped = strip_command(text)
    body = text if stripped is None else stripped
    return BotRequest(text=clean_request(body, origin=str(path)), issue=issue, source="file")


def from_event(path: Path) -> BotRequest:
    """A request read from a GitHub ``issue_comment`` or ``issues`` event payload.

    Raises:
        UsageError: If the payload is not such an event, the comment is not a
            ``/dlgen`` command or was written by a bot, or the request is empty.
    """
    try:
        payload = json.loads(_read_text(path, what="event file"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"event file {path} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UsageError(f"event file {path} must hold a JSON object")
    issue = _issue_number(payload)
    if isinstance(payload.get("comment"), dict):
        return _from_comment(payload["comment"], issue, path)
    if isinstance(payload.get("issue"), dict):
        return _from_issue(payload["issue"], issue, path)
    raise UsageError(
        f"event file {path} is neither an issue_comment nor an issues event",
        hint="run the bot on `issue_comment` (created) or `issues` (labeled) events",
    )


def _from_comment(comment: dict[str, Any], issue: int | None, path: Path) -> BotRequest:
    user = comment.get("user") or {}
    if user.get("type") == "Bot":
        raise UsageError(f"ignoring a comment written by the bot {user.get('login', '?')!r}")
    stripped = strip_command(str(comment.get("body") or ""))
    if stripped is None:
        raise UsageError(
            f"the comment in {path} does not start with {COMMAND}",
            hint=f"start the comment with `{COMMAND} <request>`",
        )
    return BotRequest(
        text=clean_request(stripped, origin=f"the comment on #{issue}"),
        issue=issue,
        source="event",
        event="issue_comment",
        author=str(user.get("login") or ""),
    )


def _from_issue(data: dict[str, Any], issue: int | None, path: Path) -> BotRequest:
    body = str(data.get("body") or "")
    stripped = strip_command(body)
    text = stripped if stripped is not None else body
    if not text.strip():
        text = str(data.get("title") or "")
    return BotRequest(
        text=clean_request(text, origin=f"issue #{issue}"),
        issue=issue,
        source="event",
        event="issues",
        author=str((data.get("user") or {}).get("login") or ""),
    )


def _issue_number(payload: dict[str, Any]) -> int | None:
    number = (payload.get("issue") or {}).get("number")
    return number if isinstance(number, int) and number > 0 else None


def _read_text(path: Path, *, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from exc
