"""tests check: the project's own pytest suite, run sandboxed."""

from __future__ import annotations

from pathlib import Path

from dlgen.validators import validate
from dlgen.validators.checks.tests import parse_summary

from .conftest import MakeProject, line_of, only


def test_failing_test_is_reported_with_its_id_and_line(make_project: MakeProject) -> None:
    """A failing test becomes a finding at its file and def line; passing ones count."""
    root = make_project({"tests/test_fail.py": '''\
            """A failing test."""


            def test_arithmetic() -> None:
                """Planted failure."""
                assert 1 + 1 == 3
            '''})
    report = validate(root, checks=["tests"])
    check = report.check("tests")
    assert check is not None and check.status == "failed"
    finding = only(report, "DLG601")
    assert finding.file == "tests/test_fail.py"
    assert finding.line == line_of(root, "tests/test_fail.py", "def test_arithmetic")
    assert "tests/test_fail.py::test_arithmetic" in finding.message
    assert check.metrics == {"passed": 2, "failed": 1}


def test_collection_error(make_project: MakeProject) -> None:
    """An import error while collecting a test file is reported at that file."""
    root = make_project({"tests/test_broken.py": "import not_a_module_anywhere\n"})
    finding = only(validate(root, checks=["tests"]), "DLG602")
    assert finding.file == "tests/test_broken.py"


def test_empty_tests_folder(make_project: MakeProject) -> None:
    """A tests/ folder with nothing to collect fails."""
    root = make_project(remove=("tests/test_model.py",))
    only(validate(root, checks=["tests"]), "DLG604")


def test_skipped_without_tests_folder(make_project: MakeProject) -> None:
    """No tests/ folder: skipped, not failed."""
    check = validate(make_project(remove=("tests",)), checks=["tests"]).check("tests")
    assert check is not None and check.status == "skipped"


def test_parse_summary() -> None:
    """Counts come from the last summary line."""
    output = "..F\nFAILED tests/a.py::t - x\n1 failed, 2 passed, 1 error in 0.52s\n"
    assert parse_summary(output) == {"failed": 1, "passed": 2, "errors": 1}


def test_flat_layout_hand_written_project(tmp_path: Path) -> None:
    """A project without src/ or pyproject.toml imports its package from the root."""
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_add.py").write_text(
        "from mypkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    check = validate(tmp_path, checks=["tests"]).check("tests")
    assert check is not None and check.status == "passed", check.findings
    assert check.metrics == {"passed": 1}
    assert not (tmp_path / "tests" / "__pycache__").exists()
