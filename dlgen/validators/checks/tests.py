"""tests (DLG6xx): the project's own pytest suite passes.

What it catches: failing tests (DLG601, one finding per test id, at the test's file
and line), errors while collecting or setting up tests (DLG602), a suite that runs past
the timeout (DLG603), a ``tests/`` folder with no tests in it (DLG604), pytest
refusing to run (DLG605), and a suite that exceeds the memory limit or kills the
interpreter (DLG606).

Why: the generated tests (shapes, forward/backward, overfitting one batch, checkpoint
round trip) are the project's own statement of what works; they must pass where they
are delivered.

How: ``python -m pytest tests -q -p no:cacheprovider`` in a child process, in a copy of
the project in a scratch directory (so tests that write files cannot touch the
project), with the project's ``src`` on ``PYTHONPATH``, a scrubbed environment, a
timeout and memory limits (see :mod:`dlgen.validators.sandbox`). Results come from
the summary line and a JUnit XML file written to the scratch directory. Runs only when
the project has a ``tests/`` folder.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from dlgen.validators.project import Project, copy_project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding
from dlgen.validators.sandbox import (
    ADDRESS_SPACE_HEADROOM_MB,
    Outcome,
    cuda_possible,
    run_child,
    scrubbed_env,
)

NAME = "tests"
CODES = {
    "DLG601": "a test failed",
    "DLG602": "error collecting or setting up tests",
    "DLG603": "test suite timed out",
    "DLG604": "tests/ holds no tests",
    "DLG605": "pytest could not run (usage or internal error)",
    "DLG606": "test suite exceeded the memory limit or was killed",
}
_SUMMARY_LINE = re.compile(r"\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected)")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")
_SHORT = re.compile(r"^(FAILED|ERROR) (\S+?)(?: - (.*))?$")


def parse_summary(output: str) -> dict[str, int]:
    """Counts from pytest's last summary line (``3 passed, 1 failed in 2.1s``).

    Args:
        output: pytest's standard output.

    Returns:
        Outcome -> count (``error`` and ``errors`` both counted as ``errors``).
    """
    for line in reversed(output.splitlines()):
        if _SUMMARY_LINE.search(line) and " in " in line:
            counts: dict[str, int] = {}
            for number, word in _COUNT.findall(line):
                key = "errors" if word.startswith("error") else word
                counts[key] = counts.get(key, 0) + int(number)
            return counts
    return {}


def _junit_lines(path: Path) -> dict[tuple[str, str], int]:
    """(file, test name) -> 1-based line, from a JUnit XML (xunit1) report."""
    lines: dict[tuple[str, str], int] = {}
    if not path.is_file():
        return lines
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return lines
    for case in root.iter("testcase"):
        file, name, line = case.get("file"), case.get("name"), case.get("line")
        if file and name and line is not None and line.isdigit():
            lines[(Path(file).as_posix(), name)] = int(line) + 1
    return lines


def parse_short_summary(output: str, junit: dict[tuple[str, str], int]) -> list[Finding]:
    """Findings from pytest's ``-rfE`` lines (``FAILED tests/x.py::test_y - msg``).

    Args:
        output: pytest's standard output.
        junit: Line numbers from the JUnit report.

    Returns:
        DLG601 per failed test, DLG602 per error.
    """
    findings = []
    for raw in output.splitlines():
        match = _SHORT.match(raw.strip())
        if not match:
            continue
        kind, node_id, message = match.groups()
        file, _, name = node_id.partition("::")
        line = junit.get((file, name.split("::")[-1]), 0)
        code = "DLG601" if kind == "FAILED" else "DLG602"
        text = f"{'test failed' if kind == 'FAILED' else 'error'}: {node_id}"
        findings.append(
            Finding(
                check=NAME,
                code=code,
                file=file,
                line=line,
                message=f"{text}" + (f" - {message}" if message else ""),
                hint="Run `pytest " + node_id + "` in the project to see the traceback.",
            )
        )
    return findings


def _interpret(outcome: Outcome, options: CheckOptions, junit: Path) -> list[Finding]:
    """Findings from how pytest ended."""
    cause = outcome.cause(options.timeout, options.memory_limit_mb)
    if outcome.timed_out:
        return [
            Finding(
                check=NAME,
                code="DLG603",
                message=f"test suite {cause}",
                hint="Keep the project's tests small (debug config) or raise --timeout.",
            )
        ]
    if outcome.memory_exceeded or outcome.returncode < 0:
        return [Finding(check=NAME, code="DLG606", message=f"test suite {cause}")]
    findings = parse_short_summary(outcome.stdout, _junit_lines(junit))
    code = outcome.returncode
    if code == 5:
        findings.append(
            Finding(
                check=NAME,
                code="DLG604",
                file="tests",
                message="pytest collected no tests from tests/",
            )
        )
    elif code in (3, 4) or (code not in (0, 1, 2) and not findings):
        tail = (outcome.stderr.strip() or outcome.stdout.strip())[-800:]
        findings.append(
            Finding(
                check=NAME, code="DLG605", message=f"pytest could not run (exit {code}): {tail}"
            )
        )
    elif code in (1, 2) and not findings:
        tail = outcome.stdout.strip()[-800:]
        findings.append(
            Finding(check=NAME, code="DLG602", message=f"pytest failed (exit {code}): {tail}")
        )
    return findings


@register_check(NAME, order=60, codes=CODES, cost=7)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Run the project's pytest suite in a sandboxed child.

    Args:
        project: The project.
        options: Timeout and memory limit.

    Returns:
        The check result, with the counts from pytest's summary as metrics.
    """
    if not (project.root / "tests").is_dir():
        return CheckResult(name=NAME, status="skipped", detail="no tests/ folder")
    with tempfile.TemporaryDirectory(prefix="dlgen-tests-") as tmp:
        copy = Path(tmp) / "project"
        left_out = copy_project(project, copy)
        junit = Path(tmp) / "junit.xml"
        src = project.src_dir
        paths = (
            [str(copy / src.relative_to(project.root))]
            if src and src.is_relative_to(project.root)
            else []
        )
        cmd = [
            sys.executable,  # no -P: the project root is on sys.path, as with `python -m pytest`
            "-m",
            "pytest",
            "tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rfE",
            "--color=no",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",
        ]
        limit = options.memory_limit_mb
        cuda = cuda_possible()
        outcome = run_child(
            cmd,
            cwd=copy,
            timeout=options.timeout,
            env=scrubbed_env(
                {"PYTHONPATH": os.pathsep.join(paths), "COLUMNS": "200", "MPLBACKEND": "Agg"}
            ),
            memory_limit_mb=limit,
            address_space_mb=None if cuda or limit is None else limit + ADDRESS_SPACE_HEADROOM_MB,
        )
        findings = _interpret(outcome, options, junit)
    metrics: dict[str, object] = dict(parse_summary(outcome.stdout))
    detail = f"left out of the copy (too large): {', '.join(left_out)}" if left_out else ""
    return result_from(NAME, findings, metrics=metrics, detail=detail)
