"""The atomic writer and project names: nothing half-written, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlgen.delivery.names import check_project_name, slugify
from dlgen.delivery.writer import (
    STAGING_PREFIX,
    check_output_dir,
    commit_staging,
    stage_files,
)
from dlgen.errors import OutputExists, UnsafeName
from dlgen.spec import PROJECT_NAME_PATTERN


def test_stage_and_commit_writes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "project"
    staging = stage_files({"a.txt": "A", "src/pkg/b.py": "B = 1\n"}, out)
    assert staging.parent == tmp_path and staging.name.startswith(STAGING_PREFIX)
    assert not out.exists()
    final = commit_staging(staging, out, force=False)
    assert (final / "a.txt").read_text() == "A"
    assert (final / "src/pkg/b.py").read_text() == "B = 1\n"
    assert not staging.exists()


def test_refuses_non_empty_output_without_force(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    with pytest.raises(OutputExists, match="not empty"):
        check_output_dir(out, force=False)
    staging = stage_files({"a.txt": "A"}, out)
    with pytest.raises(OutputExists):
        commit_staging(staging, out, force=False)
    assert (out / "mine.txt").read_text() == "user data"
    assert not (out / "a.txt").exists()


def test_force_replaces_and_leaves_no_temporary_directories(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "old.txt").write_text("old")
    staging = stage_files({"new.txt": "new"}, out)
    commit_staging(staging, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_empty_existing_directory_is_used(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    commit_staging(stage_files({"x.txt": "x"}, out), out, force=False)
    assert (out / "x.txt").exists()


@pytest.mark.parametrize("bad", ["../escape.txt", "/abs/path.txt", "a/../../b.txt"])
def test_paths_escaping_the_project_are_refused_and_nothing_remains(
    tmp_path: Path, bad: str
) -> None:
    out = tmp_path / "project"
    with pytest.raises(UnsafeName):
        stage_files({"ok.txt": "ok", bad: "evil"}, out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ViT ImageNet", "vit_imagenet"),
        ("../../etc/passwd", "etc_passwd"),
        ("实现ViT", "vit"),
        ("123abc", "project_123abc"),
        ("class", "class_project"),
        ("", "project"),
    ],
)
def test_slugify_gives_valid_names(text: str, expected: str) -> None:
    name = slugify(text)
    assert name == expected
    assert PROJECT_NAME_PATTERN.match(name)


@pytest.mark.parametrize("bad", ["../x", "a/b", "a\\b", "My Project", "1abc", "import", "..", ""])
def test_unsafe_names_are_rejected_with_a_suggestion(bad: str) -> None:
    with pytest.raises(UnsafeName) as info:
        check_project_name(bad)
    assert info.value.hint and "use" in info.value.hint


def test_safe_name_is_accepted() -> None:
    assert check_project_name("vit_imagenet") == "vit_imagenet"
