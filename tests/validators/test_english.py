"""english check: non-English characters in code, comments, strings, configs."""

from __future__ import annotations

import pytest

from dlgen.validators import validate
from dlgen.validators.checks.english import check_python_source, is_non_english

from .conftest import MakeProject, line_of, only


@pytest.mark.parametrize(
    ("source", "code", "needle", "char", "unicode_name"),
    [
        ('"""Module."""\n\n模型 = 1\n', "DLG101", "模型", "模", "CJK UNIFIED IDEOGRAPH-6A21"),
        ('"""Module."""\n\nx = 1  # 注释\n', "DLG102", "注", "注", "CJK UNIFIED IDEOGRAPH-6CE8"),
        ('"""Module."""\n\nMSG = "错误"\n', "DLG104", "错", "错", "CJK UNIFIED IDEOGRAPH-9519"),
        ('"""模块。"""\n', "DLG103", "模", "模", "CJK UNIFIED IDEOGRAPH-6A21"),
        (
            '"""Module."""\n\nNAME = "café"\n',
            "DLG104",
            "é",
            "é",
            "LATIN SMALL LETTER E WITH ACUTE",
        ),
        ('"""Module."""\n\nx = 1  # done，ok\n', "DLG102", "，", "，", "FULLWIDTH COMMA"),
    ],
    ids=["identifier", "comment", "string", "docstring", "accented", "fullwidth"],
)
def test_planted_character_is_found_at_its_place(
    make_project: MakeProject,
    source: str,
    code: str,
    needle: str,
    char: str,
    unicode_name: str,
) -> None:
    """Each kind of token is reported with file, line, column, character and name."""
    root = make_project({"src/tiny/bad.py": source})
    report = validate(root, checks=["english"])
    finding = only(report, code)
    line = line_of(root, "src/tiny/bad.py", needle)
    column = (root / "src/tiny/bad.py").read_text().splitlines()[line - 1].index(char) + 1
    assert (finding.file, finding.line, finding.column) == ("src/tiny/bad.py", line, column)
    assert repr(char) in finding.message and unicode_name in finding.message
    assert report.check("english").status == "failed"


def test_yaml_config_is_scanned_but_readme_and_dlgen_folder_are_not(
    make_project: MakeProject,
) -> None:
    """configs/**/*.yaml is checked; README.md and .dlgen/ may hold the user's language."""
    root = make_project(
        {
            "configs/model/tiny.yaml": "hidden: 16\nname: 小模型\n",
            "README.md": "# 小模型\n",
            ".dlgen/spec.yaml": "request: 实现一个小模型\n",
        }
    )
    finding = only(validate(root, checks=["english"]), "DLG105")
    assert (finding.file, finding.line, finding.column) == ("configs/model/tiny.yaml", 2, 7)


def test_identifier_is_reported_once_per_file_with_the_rest_counted() -> None:
    """A name used three times yields one finding; extra characters are counted."""
    findings = check_python_source("模型 = 1\n模型 += 1\nprint(模型)\n", "a.py")
    assert [(f.code, f.line, f.column) for f in findings] == [("DLG101", 1, 1)]
    assert "1 more flagged character" in findings[0].message


def test_multiline_docstring_position_is_exact() -> None:
    """The line and column point inside a multi-line docstring, not at its start."""
    source = 'def f() -> None:\n    """Summary.\n\n    Details: 细节.\n    """\n'
    (finding,) = check_python_source(source, "a.py")
    assert (finding.code, finding.line, finding.column) == ("DLG103", 4, 14)


def test_english_prose_symbols_are_allowed() -> None:
    """Arrows, multiplication signs, dashes and curly quotes are fine in English text."""
    source = '"""Shapes: (B, N) → (B, D) × 2 — “ok”, 5 °C."""\n\nx = 1  # ≤ 3 … fine\n'
    assert check_python_source(source, "a.py") == []
    assert not any(is_non_english(c) for c in "→×—“”°≤…")


def test_untokenizable_file_is_still_scanned() -> None:
    """A syntax error does not hide non-English text."""
    findings = check_python_source('x = (\n"中"\n', "a.py")
    assert findings and all(f.line == 2 for f in findings)


def test_clean_fixture_passes(make_project: MakeProject) -> None:
    """The clean project has nothing to report."""
    assert validate(make_project(), checks=["english"]).ok
