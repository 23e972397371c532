"""Git delivery against a real bare ``origin``: what is committed, pushed and leased."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlgen.delivery.pr import bot
from dlgen.delivery.pr import git as gitops
from dlgen.delivery.pr.bot import PrHooks, PrOptions, PrResult, open_pull_request, resolve_subdir
from dlgen.delivery.pr.request import BotRequest
from dlgen.errors import OutputExists, UnsafeName
from tests.pr.conftest import Checkout, FakeGenerator, fake_analyzer, git

DRY = {"GITHUB_TOKEN": ""}


@pytest.fixture(autouse=True)
def _no_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests cover the git half: the pull-request steps are no-ops here."""
    monkeypatch.setattr(bot._Run, "find_pull", lambda *args: None)
    monkeypatch.setattr(bot._Run, "publish", lambda *args: None)


def _push_only(checkout: Checkout, hooks: PrHooks, **options: object) -> PrResult:
    """Generate, commit and push like a real run (token set, API unused)."""
    opts = PrOptions(repo=checkout.clone, **options)  # type: ignore[arg-type]
    env = {"GITHUB_REPOSITORY": "octo/demo", "GITHUB_TOKEN": "t0ken-for-git"}
    return open_pull_request(BotRequest(text="ViT on CIFAR-10"), opts, hooks=hooks, env=env)


def test_branch_holds_main_plus_only_the_subdir(checkout: Checkout, hooks: PrHooks) -> None:
    clone = checkout.clone
    (clone / "README.md").write_text("# locally modified\n", encoding="utf-8")
    (clone / "scratch.txt").write_text("untracked\n", encoding="utf-8")
    (clone / "other" / "staged.txt").write_text("staged by the user\n", encoding="utf-8")
    git(clone, "add", "other/staged.txt")
    status_before = git(clone, "status", "--porcelain")
    head_before = git(clone, "rev-parse", "HEAD")

    result = _push_only(checkout, hooks)

    assert result.pushed and result.commit == checkout.remote_sha("dlgen/tiny_vit")
    main = checkout.remote_sha("main")
    assert git(checkout.bare, "rev-parse", "dlgen/tiny_vit^") == main
    changed = git(checkout.bare, "diff", "--name-only", "main", "dlgen/tiny_vit").splitlines()
    assert changed == [
        "projects/tiny_vit/.dlgen/report.json",
        "projects/tiny_vit/.dlgen/spec.yaml",
        "projects/tiny_vit/README.md",
        "projects/tiny_vit/src/tiny_vit/__init__.py",
        "projects/tiny_vit/train.py",
    ]
    assert set(checkout.remote_tree("dlgen/tiny_vit")) == {"README.md", "other/keep.txt", *changed}
    assert git(checkout.bare, "show", "dlgen/tiny_vit:README.md") == "# demo"
    # The user's checkout: same HEAD and index; only the project directory is new.
    assert git(clone, "rev-parse", "HEAD") == head_before
    status_after = set(git(clone, "status", "--porcelain").splitlines())
    assert status_after == {*status_before.splitlines(), "?? projects/"}
    author = git(checkout.bare, "log", "-1", "--format=%an <%ae>|%cn", "dlgen/tiny_vit")
    assert author == "dlgen-bot <dlgen-bot@users.noreply.github.com>|dlgen-bot"
    assert git(checkout.bare, "log", "-1", "--format=%s", "dlgen/tiny_vit").startswith(
        "dlgen: add tiny_vit (Vision Transformer"
    )


def test_rerun_rebuilds_one_commit_on_the_same_branch(checkout: Checkout) -> None:
    generator = FakeGenerator(extra={"old.py": "x = 1\n"})
    hooks = PrHooks(generate=generator, analyze=fake_analyzer())
    first = _push_only(checkout, hooks)
    assert "projects/tiny_vit/old.py" in checkout.remote_tree("dlgen/tiny_vit")
    # The same request again: identical tree, nothing pushed.
    again = _push_only(checkout, hooks)
    assert not again.pushed and again.commit == first.commit
    # A changed project: one fresh commit on top of main replaces the old one.
    generator.version, generator.extra = "2", {}
    second = _push_only(checkout, hooks)
    assert "projects/tiny_vit/old.py" not in checkout.remote_tree("dlgen/tiny_vit")
    assert second.pushed and second.commit != first.commit
    assert checkout.remote_sha("dlgen/tiny_vit") == second.commit
    assert git(checkout.bare, "rev-list", "--count", "main..dlgen/tiny_vit") == "1"
    readme = git(checkout.bare, "show", "dlgen/tiny_vit:projects/tiny_vit/README.md")
    assert "version 2" in readme
    assert generator.calls[-1]["force"] is True
    assert sorted(git(checkout.bare, "branch", "--format=%(refname:short)").split()) == [
        "dlgen/tiny_vit",
        "main",
    ]


def test_rerun_after_main_moved_rebases_on_the_new_main(checkout: Checkout, hooks: PrHooks) -> None:
    _push_only(checkout, hooks)
    other = checkout.clone.parent / "other-clone"
    git(checkout.clone.parent, "clone", "--quiet", str(checkout.bare), str(other))
    (other / "NEWS.md").write_text("news\n", encoding="utf-8")
    git(other, "add", "NEWS.md")
    git(other, "-c", "user.name=M", "-c", "user.email=m@x", "commit", "-q", "-m", "news")
    git(other, "push", "-q", "origin", "main")
    result = _push_only(checkout, hooks)
    assert result.pushed
    assert git(checkout.bare, "rev-parse", "dlgen/tiny_vit^") == checkout.remote_sha("main")
    assert "NEWS.md" in checkout.remote_tree("dlgen/tiny_vit")


def test_lease_refuses_to_overwrite_someone_elses_push(checkout: Checkout, hooks: PrHooks) -> None:
    first = _push_only(checkout, hooks)
    runner = gitops.Git(checkout.clone)
    main = checkout.remote_sha("main")
    with pytest.raises(gitops.GitError, match="changed since the bot read it"):
        gitops.push_branch(runner, "origin", main, "dlgen/tiny_vit", expected=main)
    with pytest.raises(gitops.GitError, match="changed since the bot read it"):
        gitops.push_branch(runner, "origin", main, "dlgen/tiny_vit", expected=None)
    assert checkout.remote_sha("dlgen/tiny_vit") == first.commit


def test_configured_identity_is_used(checkout: Checkout, hooks: PrHooks) -> None:
    git(checkout.clone, "config", "user.name", "Ann Maintainer")
    git(checkout.clone, "config", "user.email", "ann@example.com")
    _push_only(checkout, hooks)
    author = git(checkout.bare, "log", "-1", "--format=%an <%ae>", "dlgen/tiny_vit")
    assert author == "Ann Maintainer <ann@example.com>"


def test_stage_refuses_paths_outside_the_subdir(checkout: Checkout) -> None:
    runner = gitops.Git(checkout.clone)
    main = git(checkout.clone, "rev-parse", "HEAD")
    with pytest.raises(gitops.GitError, match="outside projects/x/"):
        gitops.stage_project(runner, main, "projects/x", ["projects/x/a", "README.md"])
    with pytest.raises(gitops.GitError, match="outside projects/x/"):
        gitops.stage_project(runner, main, "projects/x", ["projects/xy/a"])


def test_dry_run_builds_the_commit_but_pushes_nothing(checkout: Checkout, hooks: PrHooks) -> None:
    opts = PrOptions(repo=checkout.clone, dry_run=True)
    result = open_pull_request(BotRequest(text="ViT"), opts, hooks=hooks, env=DRY)
    assert result.status == "dry-run" and not result.pushed and result.commit
    assert git(checkout.bare, "branch", "--format=%(refname:short)") == "main"
    assert "### Validation" in result.body


@pytest.mark.parametrize(
    "subdir",
    ["/etc/x", "../x", "projects/../../x", "a/../b", ".git/hooks", ".github/workflows/{name}",
     "-rf", "x\\y", "~/x", ".", "a b", "C:/x"],
)  # fmt: skip
def test_unsafe_subdirs_are_rejected(tmp_path: Path, subdir: str) -> None:
    with pytest.raises(UnsafeName):
        resolve_subdir(tmp_path, subdir, "tiny_vit")


def test_subdir_template_and_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert resolve_subdir(root, None, "vit_b") == "projects/vit_b"
    assert resolve_subdir(root, "./gen/{name}/", "vit_b") == "gen/vit_b"
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafeName, match="outside the checkout"):
        resolve_subdir(root, "link/{name}", "vit_b")
    for name in ("../evil", "Evil", "a/b", "class"):
        with pytest.raises(UnsafeName):
            resolve_subdir(root, None, name)


def test_existing_foreign_directory_is_not_replaced(checkout: Checkout, hooks: PrHooks) -> None:
    target = checkout.clone / "projects" / "tiny_vit"
    target.mkdir(parents=True)
    (target / "mine.py").write_text("x = 1\n", encoding="utf-8")
    opts = PrOptions(repo=checkout.clone, dry_run=True)
    with pytest.raises(OutputExists, match="not a dlgen project"):
        open_pull_request(BotRequest(text="ViT"), opts, hooks=hooks, env=DRY)
    assert (target / "mine.py").read_text(encoding="utf-8") == "x = 1\n"


def test_https_token_goes_through_the_environment_only(checkout: Checkout) -> None:
    runner = gitops.Git(checkout.clone)
    env = gitops.https_auth_env(runner, "https://github.com/octo/demo.git", "s3cret-token")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert "s3cret-token" not in env["GIT_CONFIG_VALUE_0"]  # base64, and never in argv
    assert gitops.https_auth_env(runner, str(checkout.bare), "s3cret-token") == {}
    git(checkout.clone, "config", "http.https://github.com/.extraheader", "AUTHORIZATION: x")
    assert gitops.https_auth_env(runner, "https://github.com/o/r", "s3cret-token") == {}
