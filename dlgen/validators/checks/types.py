"""types (DLG3xx): every function is fully annotated and mypy passes.

What it catches:

- a parameter or return value without a type annotation (ruff's ``ANN`` rules, run
  with their own configuration; ``ANN401``, annotating with ``Any``, is allowed) — DLG301;
- any error ``mypy`` reports on the project with the project's own configuration
  (``[tool.mypy]`` in ``pyproject.toml``, ``mypy.ini``, ...) — DLG302.

Why: annotations are the cheapest documentation that a tool can verify, and mypy finds
the wrong-type and missing-attribute bugs that the smoke test's one forward pass may
not reach.

How mypy runs: ``python -m mypy`` in a subprocess from the project directory, on the
files its configuration names (``files = ...``) or else every top-level Python file and
folder, with ``MYPYPATH`` set to the project's ``src`` so tests that import the package
resolve. Its cache lives in dlgen's cache directory (``$XDG_CACHE_HOME/dlgen/mypy`` or
``~/.cache/dlgen/mypy``), under a key made of the project's name and top-level modules:
never inside the project, shared by repeated validations of the same project (a cold
run on torch code takes ~15 s, a warm one under 1 s), separate for unrelated projects.
"""

from __future__ import annotations

import configparser
import os
import re

from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding
from dlgen.validators.tools import (
    ANNOTATION_RULES,
    ToolError,
    cache_root,
    python_targets,
    ruff_json,
    run_tool,
)

NAME = "types"
CODES = {
    "DLG301": "function not fully annotated (ruff ANN)",
    "DLG302": "mypy error",
}
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:\n]+?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?P<severity>error|note|warning):"
    r"\s*(?P<message>.*?)(?:\s+\[(?P<code>[a-z0-9-]+)\])?\s*$"
)
_MYPY_FLAGS = (
    "--show-column-numbers",
    "--show-error-codes",
    "--no-pretty",
    "--no-color-output",
    "--no-error-summary",
    "--hide-error-context",
    "--hide-absolute-path",  # cached errors replay their path: keep it relative
)


def _annotation_findings(project: Project, options: CheckOptions) -> list[Finding]:
    """ruff ANN diagnostics as DLG301 findings."""
    args = ["--isolated", *ANNOTATION_RULES, *python_targets(project)]
    findings = []
    for item in ruff_json(args, project=project, options=options):
        location = item.get("location") or {}
        findings.append(
            Finding(
                check=NAME,
                code="DLG301",
                file=project.rel(str(item.get("filename", ""))),
                line=int(location.get("row") or 0),
                column=int(location.get("column") or 0),
                message=f"{item.get('message', '')} (ruff {item.get('code', '')})",
                hint="Annotate every parameter and the return type (`-> None` included).",
            )
        )
    return findings


def _config_names_files(project: Project) -> bool:
    """Whether the project's mypy configuration says which files to check."""
    mypy = project.pyproject.get("tool", {}).get("mypy", {})
    if isinstance(mypy, dict) and (mypy.get("files") or mypy.get("packages")):
        return True
    for name in ("mypy.ini", ".mypy.ini", "setup.cfg"):
        path = project.root / name
        if path.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(path, encoding="utf-8")
            except configparser.Error:
                continue
            if parser.has_option("mypy", "files"):
                return True
    return False


def mypy_targets(project: Project) -> list[str]:
    """What mypy is asked to check.

    Args:
        project: The project.

    Returns:
        Nothing when the configuration names its files; else the top-level Python
        files and folders holding Python files.
    """
    if _config_names_files(project):
        return []
    return sorted({path.parts[0] for path in project.python_files})


def parse_mypy(output: str, project: Project) -> list[Finding]:
    """Turn mypy's text output into findings (notes are appended to their error).

    Args:
        output: mypy's standard output.
        project: For relative paths.

    Returns:
        One DLG302 finding per error.
    """
    findings: list[Finding] = []
    for raw in output.splitlines():
        match = _MYPY_LINE.match(raw)
        if not match:
            continue
        message = match["message"]
        if match["severity"] == "note":
            if findings and findings[-1].line == int(match["line"]):
                findings[-1].hint = (findings[-1].hint + " " + message).strip()
            continue
        code = f" [{match['code']}]" if match["code"] else ""
        findings.append(
            Finding(
                check=NAME,
                code="DLG302",
                severity="error",
                file=project.rel(match["file"]),
                line=int(match["line"]),
                column=int(match["col"] or 0),
                message=f"{message}{code}",
            )
        )
    return findings


def _run_mypy(project: Project, options: CheckOptions) -> tuple[list[Finding], dict[str, object]]:
    """Run mypy and parse its findings; return them with timing metrics."""
    cache = cache_root(options) / "mypy" / project.cache_key()
    cache.mkdir(parents=True, exist_ok=True)
    env = {}
    if project.src_dir is not None:
        env["MYPYPATH"] = str(project.src_dir)
    args = [*_MYPY_FLAGS, "--cache-dir", str(cache), *mypy_targets(project)]
    outcome = run_tool("mypy", args, project=project, options=options, env=env)
    metrics: dict[str, object] = {"mypy_seconds": round(outcome.seconds, 2)}
    findings = parse_mypy(outcome.stdout, project)
    if outcome.returncode not in (0, 1) or (outcome.returncode == 1 and not findings):
        text = (outcome.stderr.strip() or outcome.stdout.strip())[-1500:]
        raise ToolError(f"mypy could not check the project (exit {outcome.returncode}): {text}")
    return findings, metrics


@register_check(NAME, order=30, codes=CODES, cost=8)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Check annotations with ruff, then run mypy.

    Args:
        project: The project.
        options: Timeout and cache directory.

    Returns:
        The check result.
    """
    if not project.python_files:
        return result_from(NAME, [], detail="no Python files")
    findings = _annotation_findings(project, options)
    mypy_findings, metrics = _run_mypy(project, options)
    metrics["mypy_cache"] = os.fspath(cache_root(options) / "mypy" / project.cache_key())
    return result_from(NAME, findings + mypy_findings, metrics=metrics)
