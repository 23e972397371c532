"""Reading the bot's request from text, a file or a GitHub event payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlgen.delivery.pr import request as requests
from dlgen.errors import UsageError


def _event(tmp_path: Path, payload: dict) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/dlgen ViT on CIFAR-10", "ViT on CIFAR-10"),
        ("  /dlgen:  ResNet", "ResNet"),
        ("/DLGEN\n实现ViT用于ImageNet", "实现ViT用于ImageNet"),
        ("/dlgen", ""),
        ("/dlgenx ViT", None),
        ("please /dlgen ViT", None),
    ],
)
def test_strip_command(text: str, expected: str | None) -> None:
    assert requests.strip_command(text) == expected


def test_comment_event_strips_command_and_keeps_issue(tmp_path: Path) -> None:
    path = _event(
        tmp_path,
        {
            "action": "created",
            "issue": {"number": 7, "title": "t", "body": "b"},
            "comment": {"body": "/dlgen ViT-B/16 on CIFAR-10\r\n", "user": {"login": "ann"}},
        },
    )
    request = requests.from_event(path)
    assert request.text == "ViT-B/16 on CIFAR-10"
    assert (request.issue, request.event, request.author) == (7, "issue_comment", "ann")


def test_comment_without_command_or_by_a_bot_is_refused(tmp_path: Path) -> None:
    base = {"issue": {"number": 3}}
    plain = _event(tmp_path, {**base, "comment": {"body": "looks good", "user": {}}})
    with pytest.raises(UsageError, match="does not start with /dlgen"):
        requests.from_event(plain)
    bot = _event(
        tmp_path,
        {**base, "comment": {"body": "/dlgen x", "user": {"login": "b[bot]", "type": "Bot"}}},
    )
    with pytest.raises(UsageError, match="written by the bot"):
        requests.from_event(bot)


def test_issue_event_uses_body_then_title(tmp_path: Path) -> None:
    with_body = _event(tmp_path, {"issue": {"number": 5, "title": "T", "body": "/dlgen FNO"}})
    assert requests.from_event(with_body).text == "FNO"
    only_title = _event(tmp_path, {"issue": {"number": 5, "title": "LSTM forecast", "body": None}})
    request = requests.from_event(only_title)
    assert (request.text, request.issue, request.event) == ("LSTM forecast", 5, "issues")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"pull_request": {}}, "neither an issue_comment nor an issues event"),
        ({"issue": {"number": 1}, "comment": {"body": "/dlgen   ", "user": {}}}, "is empty"),
        ([1, 2], "must hold a JSON object"),
    ],
)
def test_bad_events(tmp_path: Path, payload: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        requests.from_event(_event(tmp_path, payload))  # type: ignore[arg-type]


def test_text_is_cleaned_and_bounded(tmp_path: Path) -> None:
    assert requests.from_text("a\x00b\x1b[31mc\r\nd").text == "ab[31mc\nd"
    with pytest.raises(UsageError, match="at most"):
        requests.from_text("x" * (requests.MAX_REQUEST_CHARS + 1))
    missing = tmp_path / "nope.txt"
    with pytest.raises(UsageError, match="cannot read request file"):
        requests.from_file(missing)
    good = tmp_path / "r.txt"
    good.write_text("/dlgen 实现ViT", encoding="utf-8")
    assert requests.from_file(good, issue=9) == requests.BotRequest(
        text="实现ViT", issue=9, source="file"
    )
