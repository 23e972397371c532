"""style check: black and ruff with the project's configuration."""

from __future__ import annotations

from dlgen.validators import validate
from dlgen.validators.checks.style import first_changes

from .conftest import MakeProject, line_of, only


def test_unformatted_file(make_project: MakeProject) -> None:
    """A file black would reformat is reported at its first changed line."""
    root = make_project(
        {
            "src/tiny/consts.py": '"""Constants."""\n\nSIZES = [1, 2, 3]\nNAMES = {"a":1}\n',
        }
    )
    finding = only(validate(root, checks=["style"]), "DLG401")
    assert finding.file == "src/tiny/consts.py"
    assert finding.line == line_of(root, "src/tiny/consts.py", "NAMES")
    assert "NAMES" in finding.message


def test_lint_error(make_project: MakeProject) -> None:
    """A ruff diagnostic under the project's own rules is reported where it is."""
    root = make_project({"src/tiny/consts.py": '"""Constants."""\n\nimport os\n\nSIZE = 3\n'})
    finding = only(validate(root, checks=["style"]), "DLG402")
    assert (finding.file, finding.line, finding.column) == ("src/tiny/consts.py", 3, 8)
    assert "F401" in finding.message


def test_first_changes_of_a_diff() -> None:
    """The first changed original line of each file in a unified diff."""
    diff = (
        "--- a.py\t2024-01-01 00:00:00+00:00\n+++ a.py\t2024-01-01 00:00:00+00:00\n"
        "@@ -5,4 +5,4 @@\n ctx\n ctx\n-x = {'a':1}\n+x = {'a': 1}\n"
        "--- b.py\t2024\n+++ b.py\t2024\n@@ -1,2 +1,3 @@\n import os\n+\n y=1\n"
    )
    assert first_changes(diff) == {"a.py": (7, "x = {'a':1}"), "b.py": (2, "")}


def test_clean_fixture_passes(make_project: MakeProject) -> None:
    """The clean project is formatted and lint-free."""
    report = validate(make_project(), checks=["style"])
    assert report.ok, [f.message for f in report.findings]
