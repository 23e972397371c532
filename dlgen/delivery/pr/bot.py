"""The bot: request -> Spec -> validated project -> branch ``dlgen/<name>`` -> pull request.

Re-running for the same request is idempotent: the branch gets one fresh commit on
top of the current base (pushed with a lease on the commit the bot last saw; when
the tree is unchanged nothing is pushed), the open pull request for the branch is
edited instead of a second one being opened, and the bot's issue comment (found by
:data:`~dlgen.delivery.pr.body.MARKER`) is edited instead of a new one stacked.
A project that fails validation opens no pull request: the findings go to the
issue as a comment and the run ends with exit code 1.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlgen.delivery.names import check_project_name
from dlgen.delivery.pr import git as gitops
from dlgen.delivery.pr.body import (
    MARKER,
    BodyContext,
    commit_message,
    error_comment,
    failure_comment,
    pull_request_body,
    pull_request_title,
    success_comment,
)
from dlgen.delivery.pr.github import DEFAULT_API_URL, GitHubClient, resolve_repo
from dlgen.delivery.pr.redact import Redactor
from dlgen.delivery.pr.request import BotRequest
from dlgen.errors import DlgenError, OutputExists, UnsafeName, UsageError
from dlgen.i18n import detect_language
from dlgen.spec import Spec
from dlgen.validators.report import Report

log = logging.getLogger("dlgen.pr")

DEFAULT_SUBDIR = "projects/{name}"
BRANCH_PREFIX = "dlgen/"
PROJECT_MARKER_FILE = ".dlgen/spec.yaml"
_TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
_CACHE_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

Generator = Callable[..., Any]
Analyzer = Callable[[str, str], Spec]


def _default_generate(*args: Any, **kwargs: Any) -> Any:
    try:
        from dlgen.api import generate
    except ImportError as exc:  # pragma: no cover - only before the API lands
        raise DlgenError(f"dlgen.api.generate is not available: {exc}") from exc
    return generate(*args, **kwargs)


def _default_analyze(text: str, backend: str) -> Spec:
    from dlgen.agent import analyze

    return analyze(text, backend=backend)


@dataclass
class PrHooks:
    """Replaceable stages, for tests and embedding (defaults: dlgen's own).

    Attributes:
        generate: ``dlgen.api.generate``-compatible callable.
        analyze: ``(request_text, backend) -> Spec``.
    """

    generate: Generator = _default_generate
    analyze: Analyzer = _default_analyze


@dataclass
class PrOptions:
    """What to deliver where; mirrors the ``dlgen pr`` options."""

    repo: Path = Path(".")
    base: str = "main"
    subdir: str | None = None
    github_repo: str | None = None
    issue: int | None = None
    labels: tuple[str, ...] = ("dlgen",)
    backend: str = "offline"
    remote: str = "origin"
    dry_run: bool = False


@dataclass
class PrResult:
    """What the bot did.

    Attributes:
        status: "created", "updated" or "unchanged" (a pull request is open),
            "up-to-date" (the base already holds the project), "failed"
            (validation failed, no pull request) or "dry-run".
        exit_code: 0, or 1 when validation failed.
        name: The project name.
        branch: The bot's branch.
        subdir: The project's repository-relative directory.
        commit: The commit the branch points at (or would, in a dry run).
        pushed: Whether the branch was pushed in this run.
        pr_number: The pull request's number, when one is open.
        pr_url: Its web address.
        comment_url: The web address of the bot's issue comment, when it wrote one.
        files: Repository-relative paths of the generated files.
        changed: Paths the commit changes relative to the base.
        report: The validation report.
        body: The markdown written (pull request body, or the failure comment).
    """

    status: str
    exit_code: int
    name: str
    branch: str
    subdir: str
    commit: str | None = None
    pushed: bool = False
    pr_number: int | None = None
    pr_url: str | None = None
    comment_url: str | None = None
    files: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    report: Report | None = None
    body: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dictionary (the report via :meth:`Report.to_dict`)."""
        data = {k: v for k, v in self.__dict__.items() if k != "report"}
        data["report"] = self.report.to_dict() if self.report is not None else None
        return data


# Paths ------------------------------------------------------------------------------


def resolve_subdir(root: Path, template: str | None, name: str) -> str:
    """The project's directory relative to ``root``, checked to stay inside it.

    Args:
        root: The checkout's top-level directory.
        template: ``--subdir``; ``{name}`` is replaced by the project name.
        name: The project name.

    Returns:
        A normalised POSIX path without a trailing slash.

    Raises:
        UnsafeName: If the name or the directory is unsafe: absolute, ``..``,
            a hidden or odd segment, or (through a symlink) outside the checkout.
    """
    check_project_name(name)
    raw = (template or DEFAULT_SUBDIR).replace("{name}", name)
    if raw.startswith(("/", "~")) or "\\" in raw or re.match(r"^[A-Za-z]:", raw):
        raise UnsafeName(
            f"sub-directory {raw!r} must be a relative POSIX path inside the checkout",
            hint=f"use e.g. {DEFAULT_SUBDIR!r}",
        )
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    bad = [p for p in parts if not _SEGMENT_RE.match(p)]
    if not parts or bad:
        raise UnsafeName(
            f"sub-directory {raw!r} is not allowed"
            + (f" (segment {bad[0]!r})" if bad else " (it is the checkout itself)"),
            hint="segments may hold letters, digits, '_', '.', '-', and may not start "
            f"with '.' or '-' (no '..', '.git', '.github'); e.g. {DEFAULT_SUBDIR!r}",
        )
    relative = "/".join(parts)
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafeName(f"sub-directory {relative!r} resolves outside the checkout: {target}")
    return relative


def _check_replaceable(target: Path) -> bool:
    """Whether ``target`` exists; refuse to replace anything but a dlgen project."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputExists(f"{target} exists and is not a directory", hint="pass another --subdir")
    if not target.exists() or not any(target.iterdir()):
        return False
    if not (target / PROJECT_MARKER_FILE).is_file():
        raise OutputExists(
            f"{target} exists and is not a dlgen project (no {PROJECT_MARKER_FILE})",
            hint="pass another --subdir; the bot only replaces projects it generated",
        )
    return True


def _generated_files(target: Path, subdir: str, listed: list[str]) -> list[str]:
    """Repository-relative paths of the project's files, each checked to be inside.

    Every regular file under ``target`` counts (the generator adds some after
    rendering, e.g. ``.dlgen/report.json``) except caches; every file the
    generator listed must be among them.
    """
    found = set()
    for path in target.rglob("*"):
        relative = path.relative_to(target)
        if _CACHE_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise UnsafeName(f"generated path {relative.as_posix()!r} is a symlink; refusing it")
        if path.is_file():
            found.add(relative.as_posix())
    missing = sorted(set(listed) - found)
    if missing:
        raise DlgenError(
            f"the generator listed files it did not write into {target}: {missing[:5]}"
        )
    return sorted(f"{subdir}/{name}" for name in found)


# Comments ---------------------------------------------------------------------------


def _is_own_comment(comment: Mapping[str, Any]) -> bool:
    """A comment the bot may edit: starts with the marker, by a bot or a maintainer."""
    if not str(comment.get("body") or "").startswith(MARKER):
        return False
    user_type = (comment.get("user") or {}).get("type")
    return user_type == "Bot" or comment.get("author_association") in _TRUSTED_ASSOCIATIONS


def upsert_comment(client: GitHubClient, issue: int, body: str) -> dict[str, Any]:
    """Edit the bot's earlier comment on ``issue``, or create one."""
    own = next((c for c in client.list_comments(issue) if _is_own_comment(c)), None)
    if own is not None:
        log.info("editing comment %s on #%d", own.get("id"), issue)
        return client.update_comment(int(own["id"]), body)
    log.info("commenting on #%d", issue)
    return client.create_comment(issue, body)


# The run ----------------------------------------------------------------------------


class _Run:
    """State of one bot run; each method is one step."""

    def __init__(
        self, request: BotRequest, options: PrOptions, hooks: PrHooks, env: Mapping[str, str]
    ) -> None:
        self.request = request
        self.options = options
        self.hooks = hooks
        self.issue = options.issue or request.issue
        self.token = env.get("GITHUB_TOKEN", "")
        self.redact = Redactor(self.token)
        if not options.dry_run and not self.token:
            raise UsageError(
                "GITHUB_TOKEN is not set; the bot needs it to open the pull request",
                hint="export GITHUB_TOKEN (in Actions: secrets.GITHUB_TOKEN), or pass --dry-run",
            )
        self.root = gitops.find_root(options.repo, self.redact)
        self.git = gitops.Git(self.root, self.redact)
        url = gitops.remote_url(self.git, options.remote)
        self.git.env.update(gitops.https_auth_env(self.git, url, self.token))
        self.client: GitHubClient | None = None
        self.pull: dict[str, Any] | None = None
        if not options.dry_run:
            repo = resolve_repo(options.github_repo, env, url)
            api_url = env.get("GITHUB_API_URL") or DEFAULT_API_URL
            self.client = GitHubClient(repo, self.token, api_url, redact=self.redact)

    def analyze(self, spec: Spec | None) -> Spec:
        """The given Spec, or the analyzer's."""
        if spec is not None:
            return spec
        return self.hooks.analyze(self.request.text, self.options.backend)

    def report_error(self, error: UsageError) -> None:
        """Tell the issue why its request could not be handled (when there is one)."""
        if self.client is None or not self.issue:
            return
        lang = detect_language(self.request.text)
        body = error_comment(self.request.text, self.redact(str(error)), lang=lang)
        try:
            upsert_comment(self.client, self.issue, body)
        except DlgenError as exc:  # the original error matters more; keep it
            log.warning("could not comment on #%d: %s", self.issue, self.redact(str(exc)))

    def generate(self, spec: Spec, subdir: str) -> Any:
        """Generate and validate the project into ``<root>/<subdir>``."""
        target = self.root / subdir
        force = _check_replaceable(target)
        log.info("generating %s into %s", spec.name, subdir)
        return self.hooks.generate(
            spec, target, force=force, validate=True, backend=self.options.backend
        )

    def fail(self, ctx: BodyContext, result: PrResult) -> PrResult:
        """Report a project that failed validation on the issue; open nothing."""
        result.body = failure_comment(ctx)
        result.status, result.exit_code = "failed", 1
        if self.client is not None and self.issue:
            comment = upsert_comment(self.client, self.issue, result.body)
            result.comment_url = comment.get("html_url")
        return result

    def commit(self, spec: Spec, ctx: BodyContext, result: PrResult) -> None:
        """Build the branch's commit and push it (unless dry run or unchanged)."""
        remote = self.options.remote
        base = gitops.fetch_commit(self.git, remote, self.options.base)
        previous = gitops.remote_branch(self.git, remote, result.branch)
        staged = gitops.stage_project(self.git, base, result.subdir, result.files)
        result.changed = staged.changed
        if previous and self._same_commit(previous, staged.tree, base, result.branch):
            log.info("branch %s is already up to date at %s", result.branch, previous[:12])
            result.commit = previous
            return
        message = commit_message(spec, self.issue, ctx.report)
        result.commit = gitops.commit_tree(self.git, staged.tree, base, message)
        if not self.options.dry_run and staged.changed:
            gitops.push_branch(self.git, remote, result.commit, result.branch, previous)
            result.pushed = True
            log.info("pushed %s to %s/%s", result.commit[:12], remote, result.branch)

    def _same_commit(self, previous: str, tree: str, base: str, branch: str) -> bool:
        if not gitops.has_object(self.git, previous):
            gitops.fetch_commit(self.git, self.options.remote, branch)
        return gitops.tree_and_parents(self.git, previous) == (tree, [base])

    def find_pull(self, branch: str) -> None:
        """Look up the open pull request of ``branch`` (also checks token and repo early)."""
        if self.client is not None:
            self.pull = self.client.find_open_pull(branch)

    def publish(self, spec: Spec, ctx: BodyContext, result: PrResult) -> None:
        """Open or edit the pull request, label it, and point the issue at it."""
        assert self.client is not None
        title = pull_request_title(spec)
        pull = self.pull
        if pull is None:
            pull = self.client.create_pull(
                title=title, head=result.branch, base=self.options.base, body=result.body
            )
            result.status = "created"
        else:
            pull = self.client.update_pull(int(pull["number"]), title=title, body=result.body)
            result.status = "updated" if result.pushed else "unchanged"
        result.pr_number, result.pr_url = int(pull["number"]), pull.get("html_url")
        log.info("pull request #%d %s", result.pr_number, result.status)
        if self.options.labels:
            self.client.add_labels(result.pr_number, list(self.options.labels))
        if self.issue:
            body = success_comment(ctx, result.pr_number, result.status)
            result.comment_url = upsert_comment(self.client, self.issue, body).get("html_url")


def open_pull_request(
    request: BotRequest,
    options: PrOptions,
    *,
    spec: Spec | None = None,
    hooks: PrHooks | None = None,
    env: Mapping[str, str] | None = None,
) -> PrResult:
    """Deliver one request as a pull request.

    Args:
        request: The request (its text is shown in the body; analysed unless ``spec``).
        options: Where and how to deliver.
        spec: A ready Spec (``--spec``); skips analysis.
        hooks: Replacement analyzer/generator.
        env: Environment to read ``GITHUB_TOKEN``, ``GITHUB_API_URL`` and
            ``GITHUB_REPOSITORY`` from (default: ``os.environ``).

    Returns:
        What was done; ``exit_code`` is 1 when validation failed.

    Raises:
        UsageError: For a bad request, unsafe name or directory, missing token.
        GitError: When a git step fails (nothing outside the sub-directory is ever
            committed, and only the bot's branch is ever pushed).
        GitHubError: When the API refuses a call (bad token, missing permission, ...).
    """
    run = _Run(request, options, hooks or PrHooks(), os.environ if env is None else env)
    try:
        return _deliver(run, spec)
    except UsageError as exc:
        run.report_error(exc)
        raise


def _deliver(run: _Run, spec: Spec | None) -> PrResult:
    spec = run.analyze(spec)
    options, request = run.options, run.request
    subdir = resolve_subdir(run.root, options.subdir, spec.name)
    result = PrResult(
        status="dry-run", exit_code=0, name=spec.name, branch=BRANCH_PREFIX + spec.name,
        subdir=subdir,
    )  # fmt: skip
    run.find_pull(result.branch)
    generated = run.generate(spec, subdir)
    result.report = getattr(generated, "report", None)
    request_text = request.text or spec.request
    ctx = BodyContext(spec, request_text, subdir, [], result.report, run.issue)
    if not (generated.ok and generated.delivered):
        return run.fail(ctx, result)
    result.files = _generated_files(run.root / subdir, subdir, list(generated.files or []))
    ctx.files = [f.removeprefix(subdir + "/") for f in result.files]
    result.body = pull_request_body(ctx)
    run.commit(spec, ctx, result)
    if not result.changed:
        result.status = "up-to-date"
        return result
    if run.client is not None:
        run.publish(spec, ctx, result)
    return result


def analyze_to_file(
    request: BotRequest, path: Path, *, backend: str, hooks: PrHooks | None = None
) -> Spec:
    """Analyse ``request`` and write its Spec to ``path`` (JSON, or YAML for .yaml/.yml).

    Used by the workflow's analysis job, which holds the LLM key but no GitHub token.
    """
    spec = (hooks or PrHooks()).analyze(request.text, backend)
    text = spec.to_yaml() if path.suffix in (".yaml", ".yml") else spec.to_json()
    path.write_text(text, encoding="utf-8")
    return spec
