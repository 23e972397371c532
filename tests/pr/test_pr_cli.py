"""``dlgen pr`` end to end with fake stages: options, output, exit codes, hostile input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlgen.delivery.pr.bot import PrHooks
from dlgen.delivery.pr.cli import pr_command
from dlgen.spec import Spec
from tests.pr.conftest import TOKEN, Checkout, FakeGenerator, FakeGitHub, fake_analyzer, git

HOSTILE = (
    "/dlgen ViT for CIFAR-10 $(touch pwned) `touch pwned` ; touch pwned && echo $GITHUB_TOKEN\n"
    "```\n"
    "</details><script>alert('x')</script>\n"
    "@octocat @octo-org/admins ping <!-- dlgen-bot -->\n"
    "'; touch pwned; '\" | tee pwned\n"
)


def _event(tmp_path: Path, body: str, issue: int = 12) -> Path:
    path = tmp_path / "event.json"
    payload = {
        "action": "created",
        "issue": {"number": issue, "title": "request", "body": ""},
        "comment": {"body": body, "user": {"login": "ann", "type": "User"}},
    }
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _invoke(args: list[str], hooks: PrHooks) -> tuple[int, str, str]:
    result = CliRunner().invoke(pr_command, args, obj=hooks, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_json_output_of_a_created_pr(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks
) -> None:
    code, out, _ = _invoke(
        ["--request", "ViT on CIFAR-10", "--repo", str(checkout.clone), "--issue", "3", "--json"],
        hooks,
    )
    data = json.loads(out)
    assert code == 0 and data["status"] == "created" and data["pr_number"] == 1
    assert data["branch"] == "dlgen/tiny_vit" and data["report"]["ok"] is True
    assert "projects/tiny_vit/train.py" in data["files"]
    assert github.comments[3][0]["body"].count("#1") == 1


def test_failed_validation_exits_1_with_the_findings(
    checkout: Checkout, github: FakeGitHub
) -> None:
    hooks = PrHooks(generate=FakeGenerator(ok=False), analyze=fake_analyzer())
    code, out, err = _invoke(["--request", "ViT", "--repo", str(checkout.clone)], hooks)
    assert code == 1 and out.startswith("failed: tiny_vit")
    assert "DLG201" in err and not github.pulls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--request", "x", "--request-file", "README.md"], "give only one of --request"),
        ([], "no request given"),
        (["--write-spec", "spec.json"], "no request given"),
        (["--request", "ViT", "--subdir", "../outside"], "not allowed"),
    ],
)
def test_usage_errors_exit_2(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks, args: list[str], message: str
) -> None:
    args = [a.replace("README.md", str(checkout.clone / "README.md")) for a in args]
    code, _, err = _invoke([*args, "--repo", str(checkout.clone)], hooks)
    assert code == 2 and message in err


def test_write_spec_then_spec_with_event(
    checkout: Checkout, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _event(tmp_path, "/dlgen 实现ViT用于CIFAR-10")
    spec_path = tmp_path / "spec.json"
    monkeypatch.delenv("GITHUB_TOKEN")  # the analysis job holds no GitHub token
    analyzing = PrHooks(generate=FakeGenerator(), analyze=fake_analyzer(language="zh"))
    code, out, _ = _invoke(["--event", str(event), "--write-spec", str(spec_path)], analyzing)
    assert code == 0 and "tiny_vit" in out
    assert Spec.load(spec_path).request == "实现ViT用于CIFAR-10"

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    def no_analysis(text: str, backend: str) -> Spec:
        raise AssertionError("--spec must skip analysis")

    hooks = PrHooks(generate=FakeGenerator(), analyze=no_analysis)
    args = ["--spec", str(spec_path), "--event", str(event), "--repo", str(checkout.clone)]
    code, out, _ = _invoke(args, hooks)
    assert code == 0 and "pull request #1" in out
    body = github.pulls[0]["body"]
    assert "## dlgen：`tiny_vit`" in body and "根据 #12 中的请求" in body
    assert github.pulls[0]["title"].startswith("dlgen：新增 tiny_vit")


def test_dry_run_needs_no_token_and_prints_the_body(checkout: Checkout, hooks: PrHooks) -> None:
    code, out, _ = _invoke(["--request", "ViT", "--repo", str(checkout.clone), "--dry-run"], hooks)
    assert code == 0 and out.startswith("dry-run: tiny_vit") and "### Validation" in out


def test_hostile_issue_body_is_inert(
    checkout: Checkout,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG, logger="dlgen.pr")
    seen: list[str] = []
    analyze = fake_analyzer()
    hooks = PrHooks(
        generate=FakeGenerator(),
        analyze=lambda text, backend: seen.append(text) or analyze(text, backend),
    )
    event = _event(tmp_path, HOSTILE)
    code, out, err = _invoke(["--event", str(event), "--repo", str(checkout.clone), "-v"], hooks)

    assert code == 0, err
    assert seen == [HOSTILE.removeprefix("/dlgen ").strip()]
    assert not list(tmp_path.rglob("pwned")) and not Path("pwned").exists()
    body = github.pulls[0]["body"]
    request_block = body.split("### Request\n\n", 1)[1].split("\n### Spec", 1)[0]
    assert request_block.startswith("````text\n") and request_block.rstrip().endswith("\n````")
    outside = body.replace(request_block, "")
    for raw in ("<script>", "@octocat", "@octo-org", "$(touch", "</details><"):
        assert raw not in outside
    assert outside.count("<!-- dlgen-bot -->") == 1
    # The token: only ever in the Authorization header.
    logs = caplog.text + out + err
    assert "git push" in caplog.text and TOKEN not in logs
    for request in github.requests:
        assert TOKEN not in request.raw
    history = git(checkout.bare, "log", "-p", "--all", "--format=%H %an %ae %s %b")
    assert TOKEN not in history and "pwned" not in git(checkout.bare, "log", "--all", "--format=%B")


def test_secrets_in_git_errors_are_redacted(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks
) -> None:
    # git echoes the missing ref, which here holds the token: the message must not.
    args = ["--request", "ViT", "--repo", str(checkout.clone), "--base", TOKEN]
    code, out, err = _invoke(args, hooks)
    assert code == 2 and "couldn't find remote ref refs/heads/***" in err
    assert TOKEN not in out + err
    git(checkout.clone, "remote", "set-url", "origin", f"https://x:{TOKEN}@127.0.0.1:9/o/r.git")
    code, out, err = _invoke(["--request", "ViT", "--repo", str(checkout.clone)], hooks)
    assert code == 2 and "cannot fetch branch 'main'" in err and TOKEN not in out + err


def test_registered_in_the_main_cli() -> None:
    from dlgen.cli import main

    assert main.commands["pr"] is pr_command
    result = CliRunner().invoke(main, ["pr", "--help"])
    assert result.exit_code == 0 and "--event" in result.output and "--spec" in result.output
