"""english (DLG1xx): code, comments, docstrings, strings and configs are 100% English.

What it catches: any non-ASCII letter (CJK above all, but also kana, hangul, Cyrillic,
Greek, accented Latin such as ``é``, full-width Latin such as ``Ａ``), combining mark, or
CJK / full-width punctuation (``，。：（）「」``) in a Python identifier, comment,
docstring or string literal, and anywhere in a YAML config under ``configs/``.

Why: a generated project is read, searched, linted and maintained by people and tools
that expect English code whatever language the request came in; a Chinese request
must not leak into identifiers, log messages or config keys. Symbols that are at home
in English technical prose (``→``, ``×``, ``—``, ``“”``, ``°``) are allowed.

How: every ``.py`` file is tokenized with :mod:`tokenize` (docstrings are told apart from
other strings with :mod:`ast`), so each finding says which character (and its Unicode
name) sits where: file, line, column, and in what kind of token. YAML files are scanned
line by line. The README may be in any language and ``.dlgen/`` (which stores the
original request) is not read.
"""

from __future__ import annotations

import ast
import io
import tokenize
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding

NAME = "english"
CODES = {
    "DLG101": "non-English character in an identifier (or in code outside any token)",
    "DLG102": "non-English character in a comment",
    "DLG103": "non-English character in a docstring",
    "DLG104": "non-English character in a string literal",
    "DLG105": "non-English character in a YAML config",
    "DLG106": "non-English character in a file that could not be tokenized",
    "DLG107": "file is not valid UTF-8",
}
HINT = (
    "Write identifiers, comments, docstrings, strings and config keys/values in English; "
    "prose in the user's language belongs in README.md."
)
# CJK symbols and punctuation, CJK compatibility forms, vertical forms, and the
# half-width / full-width forms block.
_FULLWIDTH_BLOCKS = ((0x3000, 0x303F), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))


def is_non_english(char: str) -> bool:
    """Whether a character is flagged.

    Args:
        char: One character.

    Returns:
        True for non-ASCII letters and combining marks, and for CJK or full-width
        punctuation; False for ASCII and for symbols used in English prose.
    """
    if char.isascii():
        return False
    if unicodedata.category(char)[0] in ("L", "M"):
        return True
    point = ord(char)
    return any(lo <= point <= hi for lo, hi in _FULLWIDTH_BLOCKS)


def describe(char: str) -> str:
    """A character as findings show it: ``'模' (U+6A21 CJK UNIFIED IDEOGRAPH-6A21)``.

    Args:
        char: One character.

    Returns:
        The character, its code point and its Unicode name.
    """
    name = unicodedata.name(char, "unnamed character")
    return f"{char!r} (U+{ord(char):04X} {name})"


def _flagged(text: str) -> list[int]:
    """Indices of flagged characters in ``text``."""
    return [i for i, char in enumerate(text) if is_non_english(char)]


def _position(start: tuple[int, int], text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of ``text[index]`` for a token starting at ``start``."""
    before = text[:index]
    newlines = before.count("\n")
    if newlines == 0:
        return start[0], start[1] + index + 1
    return start[0] + newlines, index - before.rfind("\n")


def _docstring_starts(tree: ast.AST) -> set[tuple[int, int]]:
    """(line, col) where each module/class/function docstring token starts."""
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr):
                value = body[0].value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    starts.add((value.lineno, value.col_offset))
    return starts


def _token_kind(token: tokenize.TokenInfo, docstrings: set[tuple[int, int]]) -> tuple[str, str]:
    """(code, kind in words) for a token that holds a flagged character."""
    if token.type == tokenize.COMMENT:
        return "DLG102", "comment"
    if token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
        if token.start in docstrings:
            return "DLG103", "docstring"
        return "DLG104", "string literal"
    if token.type == tokenize.NAME:
        return "DLG101", f"identifier `{token.string}`"
    return "DLG101", "code"


def _finding(code: str, rel: str, line: int, col: int, char: str, kind: str, more: int) -> Finding:
    """One english finding."""
    extra = f" (and {more} more flagged character{'s' * (more > 1)} there)" if more else ""
    return Finding(
        check=NAME,
        code=code,
        file=rel,
        line=line,
        column=col,
        message=f"non-English character {describe(char)} in {kind}{extra}",
        hint=HINT,
    )


def check_python_source(text: str, rel: str) -> list[Finding]:
    """Findings for one Python source.

    Args:
        text: The source.
        rel: Its path as shown in findings.

    Returns:
        One finding per token holding flagged characters (identifiers: once per file
        and name), located at the first flagged character.
    """
    try:
        docstrings = _docstring_starts(ast.parse(text))
    except SyntaxError:
        docstrings = set()
    findings: list[Finding] = []
    seen_names: set[str] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            bad = _flagged(token.string)
            if not bad or (token.type == tokenize.NAME and token.string in seen_names):
                continue
            if token.type == tokenize.NAME:
                seen_names.add(token.string)
            code, kind = _token_kind(token, docstrings)
            line, col = _position(token.start, token.string, bad[0])
            char = token.string[bad[0]]
            findings.append(_finding(code, rel, line, col, char, kind, len(bad) - 1))
    except (tokenize.TokenError, SyntaxError):
        return findings + [
            f for f in _scan_lines(text, rel, "DLG106", "source") if f not in findings
        ]
    return findings


def _scan_lines(text: str, rel: str, code: str, kind: str) -> Iterator[Finding]:
    """One finding per line holding flagged characters."""
    for number, line in enumerate(text.splitlines(), start=1):
        bad = _flagged(line)
        if bad:
            yield _finding(code, rel, number, bad[0] + 1, line[bad[0]], kind, len(bad) - 1)


def _read(path: Path, rel: str) -> str | Finding:
    """A file's text, or a DLG107 finding when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        message = f"file is not valid UTF-8 (byte {exc.start}: {exc.reason})"
        return Finding(check=NAME, code="DLG107", file=rel, line=line, message=message)


@register_check(NAME, order=10, codes=CODES, cost=1)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Scan every Python file and YAML config of the project.

    Args:
        project: The project.
        options: Unused (the check runs in-process and is fast).

    Returns:
        The check result, failed when anything non-English was found.
    """
    findings: list[Finding] = []
    for path in project.python_files:
        text = _read(project.root / path, path.as_posix())
        if isinstance(text, Finding):
            findings.append(text)
        else:
            findings.extend(check_python_source(text, path.as_posix()))
    for path in project.yaml_files:
        text = _read(project.root / path, path.as_posix())
        if isinstance(text, Finding):
            findings.append(text)
        else:
            findings.extend(_scan_lines(text, path.as_posix(), "DLG105", "YAML config"))
    files = len(project.python_files) + len(project.yaml_files)
    return result_from(NAME, findings, metrics={"files": files})
