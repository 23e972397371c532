"""docstrings check: Google-style docstrings, complete and true."""

from __future__ import annotations

from dlgen.validators import validate
from dlgen.validators.checks.docstrings import check_source, parse_sections

from .conftest import CLEAN, MakeProject, line_of, only

MODULE = '''\
"""Helpers."""

from __future__ import annotations

import torch

'''


def _run(make_project: MakeProject, body: str) -> tuple[object, int]:
    """Validate the clean project plus src/tiny/helpers.py = MODULE + body."""
    root = make_project({"src/tiny/helpers.py": MODULE + body})
    return validate(root, checks=["docstrings"]), root


def test_missing_args_entry(make_project: MakeProject) -> None:
    """A parameter left out of Args: is reported at its function (ruff D417)."""
    report, root = _run(
        make_project,
        '''\
def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Scale a batch.

    Args:
        x: Inputs of shape (B, D).

    Returns:
        The scaled inputs, shape (B, D).
    """
    return x * factor
''',
    )
    finding = only(report, "DLG203")
    assert finding.file == "src/tiny/helpers.py"
    assert finding.line == line_of(root, "src/tiny/helpers.py", "def scale")
    assert "factor" in finding.message


def test_documented_parameter_that_does_not_exist(make_project: MakeProject) -> None:
    """An Args: entry naming no parameter is reported."""
    report, root = _run(
        make_project,
        '''\
def shift(value: float, offset: float) -> float:
    """Shift a value.

    Args:
        value: The value.
        offset: How far.
        dropout: Not a parameter at all.

    Returns:
        The shifted value.
    """
    return value + offset
''',
    )
    finding = only(report, "DLG204")
    assert (finding.file, finding.line) == (
        "src/tiny/helpers.py",
        line_of(root, "src/tiny/helpers.py", "def shift"),
    )
    assert "`dropout`" in finding.message


def test_missing_shapes_note(make_project: MakeProject) -> None:
    """A function taking tensors must give their shapes."""
    report, root = _run(
        make_project,
        '''\
def double(x: torch.Tensor) -> torch.Tensor:
    """Double a batch.

    Args:
        x: The inputs.

    Returns:
        The doubled inputs.
    """
    return 2 * x
''',
    )
    finding = only(report, "DLG207")
    assert finding.line == line_of(root, "src/tiny/helpers.py", "def double")


def test_missing_returns_and_raises(make_project: MakeProject) -> None:
    """A value-returning function needs Returns:, a raising one Raises:."""
    report, root = _run(
        make_project,
        '''\
def checked(value: int) -> int:
    """Check a value.

    Args:
        value: The value.
    """
    if value < 0:
        raise ValueError("value must be >= 0")
    return value
''',
    )
    returns, raises = only(report, "DLG205"), only(report, "DLG206")
    line = line_of(root, "src/tiny/helpers.py", "def checked")
    assert returns.line == raises.line == line
    assert "ValueError" in raises.message and "line 14" in raises.message


def test_missing_docstring_on_public_method(make_project: MakeProject) -> None:
    """forward without a docstring is reported although it overrides nn.Module's."""
    source = (CLEAN / "src/tiny/model.py").read_text()
    start = source.index('        """Compute class logits.')
    end = source.index('"""', source.index("(B, num_classes).")) + 3
    root = make_project({"src/tiny/model.py": source[:start] + source[end + 1 :]})
    finding = only(validate(root, checks=["docstrings"]), "DLG201")
    assert (finding.file, finding.line) == (
        "src/tiny/model.py",
        line_of(root, "src/tiny/model.py", "def forward"),
    )


def test_init_args_may_live_in_the_class_docstring() -> None:
    """Constructor arguments documented on the class satisfy __init__; extra ones do not."""
    good = '''\
class A:
    """A thing.

    Args:
        size: Its size.
    """

    def __init__(self, size: int) -> None:
        self.size = size
'''
    assert check_source(good, "a.py") == []
    bad = good.replace("size: Its size.", "size: Its size.\n        depth: Gone.")
    assert [f.code for f in check_source(bad, "a.py")] == ["DLG204"]
    bare = good.replace("\n    Args:\n        size: Its size.\n", "")
    assert [f.code for f in check_source(bare, "a.py")] == ["DLG203"]


def test_exemptions() -> None:
    """Tests, fixtures, private helpers, properties and caught raises need no sections."""
    source = '''\
from typing import Protocol

import pytest


@pytest.fixture
def batch(tmp_path: object) -> int:
    """A fixture."""
    return 1


def test_thing(batch: int) -> None:
    """A test."""
    assert batch


def _helper(x: int) -> int:
    """Private."""
    return x


class B:
    """B."""

    @property
    def size(self) -> int:
        """The size."""
        return 1

    def safe(self) -> None:
        """Never raises out."""
        try:
            raise KeyError("x")
        except KeyError:
            pass

    def abstract(self) -> None:
        """To be overridden."""
        raise NotImplementedError

    def names(self) -> set[str]:
        """Returns the names (Google style allows this instead of a Returns: section)."""
        return {"a"}


class Task(Protocol):
    """An interface."""

    def step(self, batch: int) -> int:
        """Declared here, documented where implemented."""
        ...
'''
    assert check_source(source, "tests/test_a.py") == []


def test_generators_need_yields_and_star_args_are_named_bare() -> None:
    """Yields: for generators; *args/**kwargs are documented as such."""
    source = '''\
from collections.abc import Iterator


def items(*args: int, **kwargs: int) -> Iterator[int]:
    """Produce items.

    Args:
        *args: Values.
        **kwargs: More values.
    """
    yield from args
'''
    assert [f.code for f in check_source(source, "a.py")] == ["DLG205"]
    assert (
        check_source(
            source.replace(
                '    """\n    yield', '\n    Yields:\n        Each value.\n    """\n    yield'
            ),
            "a.py",
        )
        == []
    )


def test_parse_sections() -> None:
    """Entries of Args: and Raises: are read; continuation lines are not entries."""
    doc = (
        "Summary.\n\nArgs:\n    x (Tensor): Input of shape (B, D).\n        more: text\n"
        "    y: Other.\n\nRaises:\n    errors.SpecError: When bad.\n"
    )
    assert parse_sections(doc) == {"Args": ["x", "y"], "Raises": ["errors.SpecError"]}


def test_clean_fixture_passes(make_project: MakeProject) -> None:
    """The clean project, its tests included, is fully documented."""
    report = validate(make_project(), checks=["docstrings"])
    assert report.ok, [f.message for f in report.findings]
