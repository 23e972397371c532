"""types check: full annotations (ruff ANN) and mypy with the project's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlgen.validators import validate
from dlgen.validators.checks import types as types_check

from .conftest import MakeProject, line_of, only


def test_untyped_function(make_project: MakeProject, cache_dir: Path) -> None:
    """A function without annotations is reported, parameter by parameter."""
    root = make_project({"src/tiny/extra.py": '''\
            """Extras."""


            def add(a, b: int) -> int:
                """Add.

                Args:
                    a: First.
                    b: Second.

                Returns:
                    The sum.
                """
                return a + b
            '''})
    report = validate(root, checks=["types"], cache_dir=cache_dir)
    finding = only(report, "DLG301")
    line = line_of(root, "src/tiny/extra.py", "def add")
    assert (finding.file, finding.line, finding.column) == ("src/tiny/extra.py", line, 9)
    assert "`a`" in finding.message and "ANN001" in finding.message


@pytest.mark.slow
def test_mypy_type_error(make_project: MakeProject, cache_dir: Path) -> None:
    """A type error in the project's torch code is reported with file, line and column."""
    root = make_project({"src/tiny/stats.py": '''\
            """Statistics of batches."""

            import torch


            def mean_value(x: torch.Tensor) -> int:
                """Mean of a batch.

                Args:
                    x: Inputs of shape (B, D).

                Returns:
                    The mean.
                """
                return x.mean()
            '''})
    report = validate(root, checks=["types"], cache_dir=cache_dir)
    finding = only(report, "DLG302")
    line = line_of(root, "src/tiny/stats.py", "return x.mean()")
    assert (finding.file, finding.line, finding.column) == ("src/tiny/stats.py", line, 12)
    assert "Incompatible return value type" in finding.message
    assert "[return-value]" in finding.message
    assert report.check("types").metrics["mypy_seconds"] > 0


def test_mypy_output_parsing(tmp_path: Path) -> None:
    """mypy's lines become findings; notes join the error before them."""
    from dlgen.validators.project import Project

    project = Project.load(tmp_path)
    output = (
        f"{tmp_path}/src/a.py:3:12: error: Incompatible return value type "
        '(got "float", expected "int")  [return-value]\n'
        f"{tmp_path}/src/a.py:3:12: note: Use int()\n"
        "Success: whatever\n"
    )
    (finding,) = types_check.parse_mypy(output, project)
    assert (finding.file, finding.line, finding.column) == ("src/a.py", 3, 12)
    assert finding.message.endswith("[return-value]") and finding.hint == "Use int()"
