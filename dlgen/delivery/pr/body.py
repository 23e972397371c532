"""Markdown the bot writes: pull request body, issue comments, title, commit message.

Text from the request (or anything derived from it) is never pasted raw: a block
goes into a code fence longer than any backtick run it contains; a line of prose
is HTML-escaped, markdown-escaped and has its ``@mentions`` broken with a
zero-width joiner. The prose is in the user's language (``zh`` or ``en``); the
commit message is always English.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from dlgen.delivery.pr.messages import TEXT
from dlgen.spec import Spec
from dlgen.validators.report import CheckResult, Finding, Report
from dlgen.version import __version__

MARKER = "<!-- dlgen-bot -->"
MAX_REQUEST_CHARS_SHOWN = 3000
MAX_TREE_LINES = 250
MAX_FINDINGS_SHOWN = 10
_MENTION_RE = re.compile(r"@(?=[A-Za-z0-9_])")
_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]|~])")
_BACKTICK_RUN_RE = re.compile(r"`+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ZWJ = "\u200d"

_STATUS_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️", "error": "⚠️"}


@dataclass
class BodyContext:
    """What the bot knows about one delivery, for the markdown it writes.

    Attributes:
        spec: The project's Spec.
        request: The request text as the user wrote it (untrusted).
        subdir: Repository-relative directory of the project.
        files: Project-relative paths of the generated files.
        report: The validation report, if validation ran.
        issue: The issue the request came from, if any.
    """

    spec: Spec
    request: str
    subdir: str
    files: Sequence[str] = field(default_factory=list)
    report: Report | None = None
    issue: int | None = None

    @property
    def lang(self) -> str:
        """The language of the prose: the Spec's."""
        return language_of(self.spec.language)

    def t(self, key: str, **values: Any) -> str:
        """The message ``key`` in the user's language, formatted."""
        return TEXT[self.lang][key].format(**values)


# Escaping ----------------------------------------------------------------------------


def language_of(value: str) -> str:
    """``value`` if it is a language the bot writes, else English."""
    return value if value in TEXT else "en"


def fence(text: str, info: str = "text") -> str:
    """A fenced code block holding ``text`` verbatim and unable to close early."""
    longest = max((len(m.group()) for m in _BACKTICK_RUN_RE.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def escape_inline(text: str) -> str:
    """One line of untrusted text, safe in markdown prose or a table cell.

    Newlines collapse to spaces, HTML is escaped, markdown punctuation is
    backslash-escaped and ``@mentions`` are broken with a zero-width joiner.
    """
    text = " ".join(_CONTROL_RE.sub(" ", text).split())
    text = html.escape(text, quote=False)
    text = _MARKDOWN_SPECIAL_RE.sub(r"\\\1", text)
    return _MENTION_RE.sub("@" + _ZWJ, text)


def code_span(text: str) -> str:
    """``text`` as an inline code span (one line), safe in a table cell too."""
    text = " ".join(_CONTROL_RE.sub(" ", text).split()).replace("|", "\\|")
    longest = max((len(m.group()) for m in _BACKTICK_RUN_RE.finditer(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def shown_request(text: str) -> str:
    """The request, shortened for display."""
    if len(text) <= MAX_REQUEST_CHARS_SHOWN:
        return text
    return text[:MAX_REQUEST_CHARS_SHOWN] + "\n[...]"


# Pieces ------------------------------------------------------------------------------


def file_tree(root: str, files: Sequence[str], *, more: str = "... {count} more") -> str:
    """A ``tree``-style listing of ``files`` under ``root``, at most MAX_TREE_LINES lines."""
    nodes: dict[str, Any] = {}
    for path in sorted(set(files)):
        node = nodes
        for part in PurePosixPath(path).parts:
            node = node.setdefault(part, {})
    lines = [root.rstrip("/") + "/"]
    _tree_lines(nodes, "", lines)
    if len(lines) > MAX_TREE_LINES:
        hidden = len(lines) - MAX_TREE_LINES
        lines = [*lines[:MAX_TREE_LINES], more.format(count=hidden)]
    return "\n".join(lines)


def _tree_lines(nodes: dict[str, Any], prefix: str, lines: list[str]) -> None:
    items = sorted(nodes.items())
    for index, (name, children) in enumerate(items):
        last = index == len(items) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if children else ''}")
        _tree_lines(children, prefix + ("    " if last else "│   "), lines)


def report_table(ctx: BodyContext, report: Report | None) -> str:
    """One row per check: status, time, number of findings."""
    if report is None or not report.checks:
        return ctx.t("no_report")
    head = f"| {ctx.t('check')} | {ctx.t('status')} | {ctx.t('time')} | {ctx.t('findings')} |"
    rows = [head, "|---|---|---:|---:|"]
    rows.extend(_report_row(ctx, check) for check in report.checks)
    return "\n".join(rows)


def _report_row(ctx: BodyContext, check: CheckResult) -> str:
    icon = _STATUS_ICON.get(check.status, "")
    status = f"{icon} {ctx.t(check.status)}".strip()
    name = escape_inline(check.name)
    return f"| {name} | {status} | {check.seconds:.1f} s | {len(check.findings)} |"


def first_findings(ctx: BodyContext, report: Report | None) -> str:
    """The first findings (errors first), one bullet each, or "" when there are none."""
    if report is None:
        return ""
    findings = sorted(report.findings, key=lambda f: f.severity != "error")
    broken = [c for c in report.checks if c.status == "error" and not c.findings and c.detail]
    if not findings and not broken:
        return ""
    lines = [f"**{ctx.t('first_findings')}**", ""]
    lines.extend(f"- {code_span(c.name)} {ctx.t('error')}: {_detail(c.detail)}" for c in broken)
    lines.extend(_finding_line(f) for f in findings[:MAX_FINDINGS_SHOWN])
    if len(findings) > MAX_FINDINGS_SHOWN:
        lines.append(ctx.t("more_findings", count=len(findings) - MAX_FINDINGS_SHOWN))
    return "\n".join(lines)


def _detail(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return escape_inline(text if len(text) <= limit else text[:limit] + " ...")


def _finding_line(finding: Finding) -> str:
    text = f"- {code_span(finding.code)} {code_span(finding.location())} {finding.severity}: "
    text += escape_inline(finding.message)
    if finding.hint:
        text += f" ({escape_inline(finding.hint)})"
    return text


def verdict(ctx: BodyContext, report: Report | None) -> str:
    """One line: passed or failed, with counts."""
    if report is None:
        return ctx.t("no_report")
    counts = {s: sum(c.status == s for c in report.checks) for s in _STATUS_ICON}
    key = "verdict_ok" if report.ok else "verdict_fail"
    return ctx.t(
        key,
        total=len(report.checks),
        passed=counts["passed"],
        skipped=counts["skipped"],
        failed=counts["failed"] + counts["error"],
        seconds=f"{report.seconds:.1f} s",
    )


def spec_table(ctx: BodyContext) -> str:
    """The Spec's main choices as a two-column table."""
    spec = ctx.spec
    rows = [
        (ctx.t("name"), code_span(spec.name)),
        (ctx.t("task"), code_span(spec.task)),
        (ctx.t("model"), escape_inline(_model_label(spec, ctx.lang))),
        (ctx.t("dataset"), escape_inline(_dataset_label(ctx))),
        (ctx.t("language"), escape_inline(spec.language)),
        (ctx.t("directory"), code_span(ctx.subdir.rstrip("/") + "/")),
    ]
    params = _estimated_parameters(spec)
    if params is not None:
        rows.append((ctx.t("params"), f"{params:,}"))
    lines = [f"| {ctx.t('field')} | {ctx.t('value')} |", "|---|---|"]
    lines.extend(f"| {key} | {value} |" for key, value in rows)
    return "\n".join(lines)


def _model_label(spec: Spec, lang: str) -> str:
    try:
        family = spec.family.names.display(lang)
    except Exception:  # noqa: BLE001 - a display name is optional
        family = spec.model.family
    return f"{family} ({spec.model.variant})" if spec.model.variant else family


def _dataset_label(ctx: BodyContext) -> str:
    dataset = ctx.spec.dataset
    label = f"{dataset.name}, {'×'.join(str(n) for n in dataset.input_shape)}"
    if dataset.num_classes:
        label += ", " + ctx.t("classes", count=dataset.num_classes)
    return label


def _estimated_parameters(spec: Spec) -> int | None:
    try:
        return int(spec.estimated_parameters())
    except Exception:  # noqa: BLE001 - the estimate is informative only
        return None


def assumptions(ctx: BodyContext) -> str:
    """The Spec's assumptions as a bullet list."""
    if not ctx.spec.assumptions:
        return ctx.t("no_assumptions")
    return "\n".join(f"- {escape_inline(a)}" for a in ctx.spec.assumptions)


def _request_section(ctx: BodyContext, level: str) -> list[str]:
    if not ctx.request:
        return []
    return [f"{level} {ctx.t('request')}", "", fence(shown_request(ctx.request)), ""]


# Documents ---------------------------------------------------------------------------


def pull_request_title(spec: Spec) -> str:
    """The pull request's title, in the user's language."""
    lang = language_of(spec.language)
    return TEXT[lang]["title"].format(
        name=spec.name,
        family=_model_label(spec, lang),
        task=spec.task,
        dataset=spec.dataset.name,
    )


def pull_request_body(ctx: BodyContext) -> str:
    """The pull request description: Spec, assumptions, files, validation report."""
    intro_key = "intro_issue" if ctx.issue else "intro"
    subdir = ctx.subdir.rstrip("/") + "/"
    tree = file_tree(subdir, ctx.files, more=TEXT[ctx.lang]["more_files"])
    parts = [
        MARKER,
        f"## {ctx.t('heading', name=ctx.spec.name)}",
        "",
        ctx.t(intro_key, version=__version__, subdir=subdir, issue=ctx.issue),
        "",
        verdict(ctx, ctx.report),
        "",
        *_request_section(ctx, "###"),
        f"### {ctx.t('spec')}",
        "",
        spec_table(ctx),
        "",
        f"### {ctx.t('assumptions')}",
        "",
        assumptions(ctx),
        "",
        f"### {ctx.t('files')}",
        "",
        "<details>",
        f"<summary>{ctx.t('files_summary', count=len(ctx.files))}</summary>",
        "",
        fence(tree),
        "",
        "</details>",
        "",
        f"### {ctx.t('validation')}",
        "",
        report_table(ctx, ctx.report),
        "",
        first_findings(ctx, ctx.report),
        "",
        "---",
        f"<sub>{ctx.t('footer')}</sub>",
    ]
    if ctx.issue:
        parts.extend(["", ctx.t("refs", issue=ctx.issue)])
    return _join(parts)


def failure_comment(ctx: BodyContext) -> str:
    """The issue comment for a project that failed validation."""
    parts = [
        MARKER,
        f"### {ctx.t('fail_heading', name=ctx.spec.name)}",
        "",
        ctx.t("fail_intro"),
        "",
        verdict(ctx, ctx.report),
        "",
        *_request_section(ctx, "####"),
        f"#### {ctx.t('validation')}",
        "",
        report_table(ctx, ctx.report),
        "",
        first_findings(ctx, ctx.report),
        "",
        ctx.t("fail_footer"),
    ]
    return _join(parts)


def error_comment(request: str, message: str, *, lang: str) -> str:
    """The issue comment for a request the bot could not turn into a project."""
    lang = language_of(lang)
    parts = [
        MARKER,
        f"### {TEXT[lang]['error_heading']}",
        "",
        fence(message),
        "",
    ]
    if request:
        parts.extend([f"#### {TEXT[lang]['request']}", "", fence(shown_request(request)), ""])
    parts.append(TEXT[lang]["error_footer"])
    return _join(parts)


def success_comment(ctx: BodyContext, number: int, action: str) -> str:
    """The issue comment pointing at the pull request."""
    line = ctx.t("ok_comment", name=ctx.spec.name, number=number, action=ctx.t(action))
    return _join([MARKER, line, "", verdict(ctx, ctx.report)])


def commit_message(spec: Spec, issue: int | None, report: Report | None) -> str:
    """The English commit message, built only from validated Spec values."""
    family = _model_label(spec, "en")
    subject = f"dlgen: add {spec.name} ({family}, {spec.task}, {spec.dataset.name})"
    origin = f"the request in issue #{issue}" if issue else "a request"
    lines = [_one_line(subject), "", f"Generated by dlgen {__version__} from {origin}."]
    if report is not None:
        passed = sum(c.status == "passed" for c in report.checks)
        lines.append(f"Validation passed: {passed} checks.")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(_CONTROL_RE.sub(" ", text).split())[:200]


def _join(parts: Sequence[str]) -> str:
    """Join lines, dropping repeated blank lines between parts (never inside one)."""
    kept: list[str] = []
    for part in parts:
        if part == "" and (not kept or kept[-1] == ""):
            continue
        kept.append(part)
    return "\n".join(kept).rstrip("\n") + "\n"
