"""The bot with the real ``dlgen.api.generate`` (render + full validation)."""

from __future__ import annotations

import pytest

from dlgen.delivery.pr.bot import PrHooks, PrOptions, open_pull_request
from dlgen.delivery.pr.request import BotRequest
from tests.factories import make_spec
from tests.pr.conftest import Checkout, FakeGitHub, git


@pytest.mark.slow
def test_real_generator_delivers_what_its_report_says(
    checkout: Checkout, github: FakeGitHub
) -> None:
    api = pytest.importorskip("dlgen.api", reason="dlgen.api (the lead's generate) is missing")
    spec = make_spec(request="A tiny ViT for CIFAR-10")
    options = PrOptions(repo=checkout.clone)
    hooks = PrHooks(generate=api.generate)
    result = open_pull_request(
        BotRequest(text=spec.request, issue=4), options, spec=spec, hooks=hooks
    )

    report = result.report
    assert report is not None and report.checks
    assert report.ok, [f"{f.check} {f.location()} {f.message}" for f in report.errors]
    assert (result.status, result.exit_code, result.pr_number) == ("created", 0, 1)
    body = github.pulls[0]["body"]
    for check in report.checks:
        assert f"| {check.name} |" in body
    tree = checkout.remote_tree("dlgen/tiny_vit")
    assert "projects/tiny_vit/.dlgen/spec.yaml" in tree
    assert "projects/tiny_vit/train.py" in tree
    changed = git(checkout.bare, "diff", "--name-only", "main", "dlgen/tiny_vit").splitlines()
    assert changed and all(path.startswith("projects/tiny_vit/") for path in changed)

    # A re-run for the same issue keeps the one pull request and edits its body.
    again = open_pull_request(
        BotRequest(text=spec.request, issue=4), options, spec=spec, hooks=hooks
    )
    assert again.exit_code == 0 and again.pr_number == 1
    assert again.status in ("updated", "unchanged")
    assert len(github.pulls) == 1
