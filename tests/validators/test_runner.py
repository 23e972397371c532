"""The runner: every check on a project, in parallel, reported in order, read-only."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from dlgen.errors import UsageError
from dlgen.validators import (
    CHECKS,
    CheckResult,
    exit_code,
    render_report_table,
    report_to_markdown,
    validate,
)
from dlgen.validators import tools as tools_module

from .conftest import CLEAN, MakeProject, codes

ORDER = ["english", "docstrings", "types", "style", "smoke", "tests", "extras"]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and modification time."""
    result = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        result[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return result


def test_registry_order_and_codes() -> None:
    """Seven checks, in the documented order, each with its own code range."""
    assert list(CHECKS) == ORDER
    for hundred, check in enumerate(CHECKS.values(), start=1):
        assert check.codes and all(code.startswith(f"DLG{hundred}") for code in check.codes)
        assert check.summary.startswith(check.name)


@pytest.mark.slow
def test_clean_project_passes_every_check_and_is_not_modified(
    make_project: MakeProject, cache_dir: Path
) -> None:
    """The clean fixture passes all seven checks; the run writes nothing into it."""
    root = make_project()
    before = _snapshot(root)
    seen: list[tuple[str, str]] = []
    report = validate(
        root,
        cache_dir=cache_dir,
        jobs=3,
        progress=lambda name, result: seen.append((name, result.status)),
    )
    assert [c.name for c in report.checks] == ORDER
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(ORDER, "passed"), [
        (c.name, c.detail, [f.message for f in c.findings]) for c in report.checks
    ]
    assert sorted(seen) == sorted((name, "passed") for name in ORDER)
    # Timed to the millisecond: the static extras check may take less than that.
    assert all(c.seconds >= 0 for c in report.checks) and exit_code(report) == 0
    assert sum(c.seconds for c in report.checks) > 0
    assert report.metric("params") == 212
    assert _snapshot(root) == before
    assert (cache_dir / "mypy").is_dir()


def test_findings_make_exit_code_one(make_project: MakeProject) -> None:
    """One finding fails the report; the rendered outputs show it."""
    root = make_project({"src/tiny/bad.py": '"""Bad."""\n\nx = 1  # 注释\n'})
    report = validate(root, checks=["english", "docstrings"])
    assert exit_code(report) == 1 and codes(report) == ["DLG102"]
    markdown = report_to_markdown(report)
    assert "| english | ✗ failed |" in markdown and "`src/tiny/bad.py:3:10` **DLG102**" in markdown
    console = Console(record=True, width=200)
    render_report_table(report, console)
    text = console.export_text()
    assert "src/tiny/bad.py:3:10 DLG102" in text and "docstrings" in text


def test_hand_written_project_gets_static_checks_only(tmp_path: Path) -> None:
    """No pyproject, no tests/: smoke and tests are skipped, static checks run."""
    (tmp_path / "lib.py").write_text('"""A library."""\n\nVALUE = 1\n')
    report = validate(tmp_path, checks=["english", "docstrings", "smoke", "tests"])
    statuses = {c.name: c.status for c in report.checks}
    assert statuses == {
        "english": "passed",
        "docstrings": "passed",
        "smoke": "skipped",
        "tests": "skipped",
    }
    assert report.ok


def test_missing_tool_is_an_error_not_a_crash(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check whose tool is not installed reports status error with what to install."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        tools_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ruff" else real(name, *a),
    )
    report = validate(make_project(), checks=["english", "style"])
    style = report.check("style")
    assert style is not None and style.status == "error"
    assert "ruff is not installed" in style.detail and "pip install ruff" in style.detail
    assert report.check("english").status == "passed" and exit_code(report) == 1


def test_unknown_check_and_missing_directory(tmp_path: Path) -> None:
    """Bad usage raises UsageError naming what is accepted."""
    with pytest.raises(UsageError, match="unknown check"):
        validate(tmp_path, checks=["spelling"])
    with pytest.raises(UsageError, match="not a directory"):
        validate(tmp_path / "missing")


def test_a_crashing_check_does_not_stop_the_others(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An internal error in one check is reported as that check's error."""

    def boom(*args: object) -> CheckResult:
        raise RuntimeError("bug")

    from dataclasses import replace

    monkeypatch.setitem(CHECKS, "english", replace(CHECKS["english"], run=boom))
    report = validate(make_project(), checks=["english", "docstrings"])
    assert report.check("english").status == "error"
    assert "RuntimeError: bug" in report.check("english").detail
    assert report.check("docstrings").status == "passed"


def test_default_cache_dir_honours_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """mypy's cache goes under $XDG_CACHE_HOME/dlgen, never into the project."""
    from dlgen.validators.registry import CheckOptions

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tools_module.cache_root(CheckOptions()) == tmp_path / "dlgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tools_module.cache_root(CheckOptions()) == Path(os.path.expanduser("~/.cache/dlgen"))


def test_aborting_validation_kills_running_children(make_project: MakeProject) -> None:
    """An exception out of the progress callback (as Ctrl-C would) stops the children."""
    model = (CLEAN / "src/tiny/model.py").read_text()
    model = model.replace("import torch\n", "import time\n\nimport torch\n", 1).replace(
        "        return self.fc2(hidden)\n",
        "        time.sleep(120)\n        return self.fc2(hidden)\n",
    )
    root = make_project({"src/tiny/model.py": model})

    def progress(name: str, result: CheckResult) -> None:
        if name == "english":
            time.sleep(2)  # let the smoke child start
            raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        validate(root, checks=["english", "smoke"], timeout=120, progress=progress)
    assert time.monotonic() - start < 30
