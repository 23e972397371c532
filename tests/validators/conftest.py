"""Fixtures of the validator tests: a clean project and a way to plant one defect in it."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dlgen.validators.report import Finding, Report

CLEAN = Path(__file__).resolve().parents[1] / "fixtures" / "validators" / "clean"

MakeProject = Callable[..., Path]


@pytest.fixture(scope="session")
def cache_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dlgen's cache root for the tests: pytest's cache folder when there is one.

    A cold mypy run over the fixture's torch code takes 15-40 s; keeping its cache in
    ``.pytest_cache`` makes later local runs warm, while CI starts cold.
    """
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("dlgen-validators"))
    return tmp_path_factory.mktemp("dlgen-cache")


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Copy the clean fixture project into tmp_path, then write or delete files in it.

    Returns:
        ``make(files={relpath: source}, remove=[relpath])`` -> the project root. Sources
        are dedented.
    """

    def make(files: dict[str, str] | None = None, remove: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "tiny"
        shutil.copytree(CLEAN, root)
        for rel, text in (files or {}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        for rel in remove:
            target = root / rel
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        return root

    return make


def codes(report: Report) -> list[str]:
    """The codes of all findings of a report."""
    return [f.code for f in report.findings]


def only(report: Report, code: str) -> Finding:
    """The single finding with ``code``; fails listing all findings otherwise."""
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [f"{f.location()} {f.code} {f.message}" for f in report.findings]
    return found[0]


def line_of(root: Path, rel: str, needle: str) -> int:
    """1-based number of the first line of ``rel`` containing ``needle``."""
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)
