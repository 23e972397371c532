"""``dlgen pr``: turn a request (text, file, GitHub event or Spec) into a pull request."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import click

from dlgen.delivery.pr import request as requests
from dlgen.delivery.pr.bot import PrHooks, PrOptions, PrResult, analyze_to_file, open_pull_request
from dlgen.delivery.pr.redact import Redactor
from dlgen.errors import DlgenError, UsageError
from dlgen.spec import Spec

BACKENDS = ("offline", "openai", "anthropic", "auto")
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def read_request(
    text: str | None, request_file: Path | None, event: Path | None, issue: int | None
) -> requests.BotRequest:
    """The request from exactly one of ``--request``, ``--request-file``, ``--event``.

    Raises:
        UsageError: If more than one is given (none is allowed: an empty request).
    """
    sources = (("--request", text), ("--request-file", request_file), ("--event", event))
    given = [name for name, value in sources if value is not None]
    if len(given) > 1:
        raise UsageError(f"give only one of {', '.join(given)}")
    if text is not None:
        return requests.from_text(text, issue=issue)
    if request_file is not None:
        return requests.from_file(request_file, issue=issue)
    if event is not None:
        found = requests.from_event(event)
        return found if issue is None else dataclasses.replace(found, issue=issue)
    return requests.BotRequest(text="", issue=issue, source="spec")


def _summary(result: PrResult) -> str:
    lines = [f"{result.status}: {result.name} on branch {result.branch} ({result.subdir}/)"]
    if result.commit:
        lines.append(f"commit {result.commit}{' (pushed)' if result.pushed else ''}")
    if result.pr_number:
        lines.append(f"pull request #{result.pr_number}: {result.pr_url or ''}".rstrip())
    if result.comment_url:
        lines.append(f"issue comment: {result.comment_url}")
    return "\n".join(lines)


@click.command("pr")
@click.option("--request", "request_text", help="The request text.")
@click.option("--request-file", type=_FILE, help="A UTF-8 file holding the request.")
@click.option(
    "--event",
    type=_FILE,
    help="A GitHub issue_comment/issues event payload ($GITHUB_EVENT_PATH); "
    "a comment must start with /dlgen.",
)
@click.option("--spec", "spec_file", type=_FILE, help="Use this Spec (YAML/JSON); no analysis.")
@click.option(
    "--write-spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Only analyse the request and write its Spec here (no git, no GitHub, no token).",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The git checkout.",
)
@click.option("--base", default="main", show_default=True, help="Branch the PR targets.")
@click.option(
    "--subdir",
    default=None,
    help="Project directory in the checkout; {name} is replaced.  [default: projects/{name}]",
)
@click.option("--github-repo", help="OWNER/NAME [default: $GITHUB_REPOSITORY, else origin].")
@click.option("--issue", type=click.IntRange(min=1), help="Issue to report to.")
@click.option(
    "--label", "labels", multiple=True, default=("dlgen",), show_default=True, help="PR label."
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="offline",
    envvar="DLGEN_BACKEND",
    show_default=True,
    show_envvar=True,
    help="Analyzer for the request.",
)
@click.option("--remote", default="origin", show_default=True, help="Remote to push to.")
@click.option("--dry-run", is_flag=True, help="Generate, validate and commit locally; no push/API.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Log each step to stderr.")
@click.pass_context
def pr_command(
    ctx: click.Context,
    request_text: str | None,
    request_file: Path | None,
    event: Path | None,
    spec_file: Path | None,
    write_spec: Path | None,
    repo: Path,
    base: str,
    subdir: str | None,
    github_repo: str | None,
    issue: int | None,
    labels: tuple[str, ...],
    backend: str,
    remote: str,
    dry_run: bool,
    as_json: bool,
    verbose: bool,
) -> None:
    """Generate a validated project and open (or update) a pull request for it.

    The project is committed on branch dlgen/<name> (only files under --subdir),
    pushed to --remote and proposed against --base; the PR body holds the Spec,
    assumptions, file tree and validation report. A project that fails validation
    opens no PR: the findings are commented on the issue and the exit code is 1.
    Needs GITHUB_TOKEN (not for --dry-run or --write-spec).
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="dlgen-pr: %(message)s")
    hooks = ctx.find_object(PrHooks) or PrHooks()
    redact = Redactor(os.environ.get("GITHUB_TOKEN", ""))
    try:
        request = read_request(request_text, request_file, event, issue)
        if not request.text and (spec_file is None or write_spec is not None):
            raise UsageError(
                "no request given",
                hint="pass --request TEXT, --request-file PATH, --event PATH or --spec FILE",
            )
        if write_spec is not None:
            written = analyze_to_file(request, write_spec, backend=backend, hooks=hooks)
            click.echo(f"wrote the Spec of {written.name} to {write_spec}")
            return
        spec = Spec.load(spec_file) if spec_file is not None else None
        options = PrOptions(
            repo=repo, base=base, subdir=subdir, github_repo=github_repo, issue=issue,
            labels=labels, backend=backend, remote=remote, dry_run=dry_run,
        )  # fmt: skip
        result = open_pull_request(request, options, spec=spec, hooks=hooks)
    except DlgenError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        ctx.exit(exc.exit_code)
    output = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if as_json else None
    click.echo(redact(output or _summary(result)))
    if not as_json and (result.exit_code or dry_run):
        click.echo("\n" + redact(result.body), err=bool(result.exit_code))
    if result.exit_code:
        ctx.exit(result.exit_code)
