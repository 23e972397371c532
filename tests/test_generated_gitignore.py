"""A generated project's .gitignore never hides one of the project's own files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlgen.render import render
from tests.factories import make_spec


def test_no_rendered_file_is_git_ignored(tmp_path: Path) -> None:
    files = render(make_spec())
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=tmp_path,
        input="\n".join(files),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ignored == []
    assert any(name.endswith("/data/sampler.py") for name in files)


def test_every_template_file_is_tracked_by_git() -> None:
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing to compare")
    templates = root / "dlgen" / "templates"
    on_disk = {
        str(p.relative_to(root))
        for p in templates.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    tracked = set(
        subprocess.run(
            ["git", "ls-files", "--", "dlgen/templates"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    assert on_disk - tracked == set(), "template files git does not track (ignored?)"
