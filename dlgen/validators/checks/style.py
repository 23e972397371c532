"""style (DLG4xx): black would not reformat anything and ruff finds nothing.

What it catches:

- a file ``black --check`` would reformat, located at its first changed line (DLG401),
  or one black cannot parse (DLG403);
- any ``ruff check`` diagnostic under the project's own ruff configuration (DLG402).

Why: a generated project is formatted and linted at render time, so this check confirms
it rather than fixing it; for a hand-written project it is the usual CI gate. Both
tools run with the project's configuration (``[tool.black]``, ``[tool.ruff]``), from the
project directory, and neither writes anything there (ruff runs with ``--no-cache``).
"""

from __future__ import annotations

import re

from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding
from dlgen.validators.tools import ToolError, ruff_json, run_tool

NAME = "style"
CODES = {
    "DLG401": "black would reformat the file",
    "DLG402": "ruff lint finding (project's configuration)",
    "DLG403": "black cannot parse the file",
}
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
_CANNOT = re.compile(r"^error: cannot format (?P<file>.+?): (?P<message>.*)$")
_AT = re.compile(r"(\d+):(\d+)")


def first_changes(diff: str) -> dict[str, tuple[int, str]]:
    """For each file in a unified diff, its first changed original line.

    Args:
        diff: ``black --diff`` output.

    Returns:
        File path (as black printed it) -> (1-based line, that line's text as it was,
        or the line black adds when nothing is removed first).
    """
    result: dict[str, tuple[int, str]] = {}
    current: str | None = None
    line = 0
    for raw in diff.splitlines():
        if raw.startswith("--- "):
            current = raw[4:].split("\t")[0].strip()
            continue
        if raw.startswith("+++ ") or current is None or current in result:
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            line = int(hunk.group(1))
        elif raw.startswith(" "):
            line += 1
        elif raw.startswith(("-", "+")):
            result[current] = (max(line, 1), raw[1:])
    return result


def _black(project: Project, options: CheckOptions) -> list[Finding]:
    """black --check --diff over the project."""
    outcome = run_tool(
        "black", ["--check", "--diff", "--no-color", "."], project=project, options=options
    )
    findings = []
    for file, (line, text) in first_changes(outcome.stdout).items():
        findings.append(
            Finding(
                check=NAME,
                code="DLG401",
                file=project.rel(file),
                line=line,
                message=f"black would reformat this file, first at line {line}: {text.strip()!r}",
                hint="Run `black .` in the project.",
            )
        )
    for raw in outcome.stderr.splitlines():
        match = _CANNOT.match(raw)
        if match:
            at = _AT.search(match["message"])
            findings.append(
                Finding(
                    check=NAME,
                    code="DLG403",
                    file=project.rel(match["file"]),
                    line=int(at.group(1)) if at else 0,
                    column=int(at.group(2)) if at else 0,
                    message=f"black cannot format this file: {match['message']}",
                )
            )
    if outcome.returncode not in (0, 1) and not findings:
        raise ToolError(f"black failed (exit {outcome.returncode}): {outcome.stderr.strip()}")
    return findings


def _ruff(project: Project, options: CheckOptions) -> list[Finding]:
    """ruff check with the project's configuration."""
    findings = []
    for item in ruff_json(["."], project=project, options=options):
        location = item.get("location") or {}
        code = item.get("code") or "syntax"
        findings.append(
            Finding(
                check=NAME,
                code="DLG402",
                file=project.rel(str(item.get("filename", ""))),
                line=int(location.get("row") or 0),
                column=int(location.get("column") or 0),
                message=f"{item.get('message', '')} (ruff {code})",
                hint="Fix it, or run `ruff check --fix .` where ruff offers a fix.",
            )
        )
    return findings


@register_check(NAME, order=40, codes=CODES, cost=2)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Run black in check mode and ruff with the project's configuration.

    Args:
        project: The project.
        options: For the tools' timeout.

    Returns:
        The check result.
    """
    if not project.python_files:
        return result_from(NAME, [], detail="no Python files")
    findings = _black(project, options) + _ruff(project, options)
    return result_from(NAME, findings)
