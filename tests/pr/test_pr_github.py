"""The bot against a fake GitHub API on 127.0.0.1 and a real bare origin."""

from __future__ import annotations

import os

import pytest

from dlgen.delivery.pr import github as gh
from dlgen.delivery.pr.body import MARKER
from dlgen.delivery.pr.bot import PrHooks, PrOptions, PrResult, open_pull_request
from dlgen.delivery.pr.request import BotRequest
from dlgen.errors import UsageError
from tests.pr.conftest import TOKEN, Checkout, FakeGenerator, FakeGitHub, fake_analyzer, git


def _run(checkout: Checkout, hooks: PrHooks, issue: int | None = 12, **options: object) -> PrResult:
    opts = PrOptions(repo=checkout.clone, **options)  # type: ignore[arg-type]
    return open_pull_request(BotRequest(text="ViT on CIFAR-10", issue=issue), opts, hooks=hooks)


def test_first_run_opens_and_labels_a_pr_then_reruns_edit_it(
    checkout: Checkout, github: FakeGitHub
) -> None:
    generator = FakeGenerator()
    hooks = PrHooks(generate=generator, analyze=fake_analyzer())
    first = _run(checkout, hooks)
    assert (first.status, first.exit_code, first.pr_number) == ("created", 0, 1)
    [create] = github.calls("POST", "/pulls")
    assert create.body["head"] == "dlgen/tiny_vit" and create.body["base"] == "main"
    assert create.body["title"].startswith("dlgen: add tiny_vit")
    assert "| Name | `tiny_vit` |" in create.body["body"]
    assert github.labels[1] == ["dlgen"]
    [comment] = github.comments[12]
    assert comment["body"].startswith(MARKER) and "pull request #1 opened" in comment["body"]

    generator.version = "2"
    second = _run(checkout, hooks, labels=("dlgen", "bot"))
    assert (second.status, second.pr_number, second.pushed) == ("updated", 1, True)
    assert len(github.calls("POST", "/pulls")) == 1
    assert len(github.calls("PATCH", "/pulls/1")) == 1
    assert github.labels[1] == ["dlgen", "bot"]
    assert len(github.comments[12]) == 1 and "#1 updated" in github.comments[12][0]["body"]
    assert len(github.calls("POST", "/issues/12/comments")) == 1

    third = _run(checkout, hooks)
    assert (third.status, third.pushed, third.commit) == ("unchanged", False, second.commit)
    assert len(github.pulls) == 1 and len(github.calls("POST", "/pulls")) == 1


def test_failing_project_comments_instead_of_opening_a_pr(
    checkout: Checkout, github: FakeGitHub
) -> None:
    hooks = PrHooks(generate=FakeGenerator(ok=False), analyze=fake_analyzer())
    result = _run(checkout, hooks)
    assert (result.status, result.exit_code, result.pr_number) == ("failed", 1, None)
    assert not github.calls("POST", "/pulls") and not github.pulls
    assert git(checkout.bare, "branch", "--format=%(refname:short)") == "main"
    [comment] = github.comments[12]
    assert "did not pass validation" in comment["body"] and "`DLG201`" in comment["body"]
    assert result.comment_url == comment["html_url"]

    again = _run(checkout, hooks)
    assert again.exit_code == 1
    assert len(github.comments[12]) == 1
    assert len(github.calls("POST", "/issues/12/comments")) == 1
    assert len(github.calls("PATCH", f"/issues/comments/{comment['id']}")) == 1


def test_an_outsiders_comment_with_the_marker_is_not_edited(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks
) -> None:
    github.add_comment(12, MARKER + " fake", {"login": "mallory", "type": "User"}, "NONE")
    _run(checkout, hooks)
    bodies = [c["body"] for c in github.comments[12]]
    assert bodies[0] == MARKER + " fake" and len(bodies) == 2


def test_an_analysis_error_is_commented_on_the_issue(
    checkout: Checkout, github: FakeGitHub
) -> None:
    def refuse(text: str, backend: str) -> object:
        raise UsageError("could not place 'frobnicator' in the catalog")

    hooks = PrHooks(generate=FakeGenerator(), analyze=refuse)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="frobnicator"):
        _run(checkout, hooks)
    [comment] = github.comments[12]
    assert "could not handle the request" in comment["body"] and "frobnicator" in comment["body"]


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (403, {"message": "Resource not accessible by integration"}, "missing permission"),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [{"message": "A pull request already exists"}],
            },
            "validation failed.*A pull request already exists",
        ),
        (
            422,
            {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]},
            "422 .*Validation Failed; invalid",
        ),
    ],
)
def test_api_refusals_name_their_cause(
    checkout: Checkout,
    github: FakeGitHub,
    hooks: PrHooks,
    status: int,
    payload: dict,
    expected: str,
) -> None:
    github.fail[("POST", "/pulls")] = (status, payload)
    with pytest.raises(gh.GitHubError, match=expected) as info:
        _run(checkout, hooks)
    assert info.value.status == status
    assert "POST /pulls" in str(info.value) and TOKEN not in str(info.value)
    if status == 403:
        assert "pull-requests: write" in str(info.value)


def test_bad_token_fails_before_generating(
    checkout: Checkout, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrong_token_value")
    generator = FakeGenerator()
    with pytest.raises(gh.GitHubError, match="401 .bad credentials") as info:
        _run(checkout, PrHooks(generate=generator, analyze=fake_analyzer()))
    assert "ghs_wrong_token_value" not in str(info.value) and "GITHUB_TOKEN" in str(info.value)
    assert generator.calls == []
    assert git(checkout.bare, "branch", "--format=%(refname:short)") == "main"


def test_missing_token_is_a_usage_error(checkout: Checkout, hooks: PrHooks) -> None:
    with pytest.raises(UsageError, match="GITHUB_TOKEN is not set"):
        _run(checkout, hooks)


def test_server_errors_are_retried_then_reported(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gh, "RETRY_DELAYS_S", (0.0,))
    github.fail[("GET", "/pulls")] = (502, {"message": "Bad Gateway"})
    with pytest.raises(gh.GitHubError, match="502"):
        _run(checkout, hooks)
    assert len(github.calls("GET", "/pulls")) == 2


def test_token_only_travels_in_the_authorization_header(
    checkout: Checkout, github: FakeGitHub, hooks: PrHooks
) -> None:
    _run(checkout, hooks)
    assert github.requests
    for request in github.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        others = {k: v for k, v in request.headers.items() if k != "Authorization"}
        assert TOKEN not in request.raw + request.path + str(request.query) + str(others)


def test_repository_resolution() -> None:
    assert gh.parse_remote_url("https://github.com/octo/demo.git") == "octo/demo"
    assert gh.parse_remote_url("git@github.com:octo/demo.git") == "octo/demo"
    assert gh.parse_remote_url("ssh://git@github.com/octo/demo") == "octo/demo"
    assert gh.parse_remote_url("/tmp/origin.git") is None
    env = {"GITHUB_REPOSITORY": "env/repo"}
    assert gh.resolve_repo("cli/repo", env, "git@github.com:o/r.git") == "cli/repo"
    assert gh.resolve_repo(None, env, "git@github.com:o/r.git") == "env/repo"
    assert gh.resolve_repo(None, {}, "git@github.com:o/r.git") == "o/r"
    with pytest.raises(UsageError, match="--github-repo"):
        gh.resolve_repo(None, {}, "/tmp/x.git")
    for bad in ("a/b/c", "../x", "a b/c", "owner/.."):
        with pytest.raises(UsageError, match="OWNER/NAME"):
            gh.check_repo_slug(bad)


def test_pagination_never_follows_another_host() -> None:
    client = gh.GitHubClient("octo/demo", "tok-123456", "https://api.github.com")
    same = '<https://api.github.com/repos/octo/demo/issues/1/comments?page=2>; rel="next"'
    assert (
        client._next_page(same) == "https://api.github.com/repos/octo/demo/issues/1/comments?page=2"
    )
    assert client._next_page('<https://evil.example/x?page=2>; rel="next"') is None


def test_environment_is_not_mutated(checkout: Checkout, github: FakeGitHub, hooks: PrHooks) -> None:
    before = dict(os.environ)
    _run(checkout, hooks)
    assert dict(os.environ) == before
