"""What the checks need to know about the project they validate.

:class:`Project` is read once per validation: the root, the parsed ``pyproject.toml``,
its ``[tool.dlgen]`` table, and the Python and YAML files the static checks look at.
Nothing here writes to the project.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Directories never looked into: VCS, virtual environments, caches, build output, and
# dlgen's own metadata folder (``.dlgen/`` holds the user's request, in any language).
SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        "node_modules",
        "venv",
        "env",
        "build",
        "dist",
        "site-packages",
        "wandb",
        "lightning_logs",
    }
)
SMOKE_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_skipped_dir(path: Path) -> bool:
    """Whether a directory is outside what validation reads.

    Args:
        path: The directory.

    Returns:
        True for hidden directories, caches, build output and virtual environments.
    """
    name = path.name
    return (
        name.startswith(".")
        or name in SKIPPED_DIRS
        or name.endswith(".egg-info")
        or (path / "pyvenv.cfg").is_file()
    )


def _walk(root: Path) -> Iterator[Path]:
    """Yield the files under ``root``, pruning skipped directories, in sorted order."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(base / d))
        for name in sorted(filenames):
            yield base / name


@dataclass(frozen=True)
class Project:
    """A project directory as the checks see it.

    Attributes:
        root: Absolute path of the project.
        pyproject: Parsed ``pyproject.toml`` (empty when absent or unreadable).
        pyproject_error: Why ``pyproject.toml`` could not be read, or "".
        python_files: ``.py`` files, relative to ``root``, sorted.
        yaml_files: ``configs/**/*.yaml`` (and ``.yml``) files, relative to ``root``.
    """

    root: Path
    pyproject: dict[str, Any] = field(default_factory=dict)
    pyproject_error: str = ""
    python_files: tuple[Path, ...] = ()
    yaml_files: tuple[Path, ...] = ()

    @classmethod
    def load(cls, root: Path) -> Project:
        """Read a project directory.

        Args:
            root: The project root.

        Returns:
            The project, with its file lists and pyproject table.
        """
        root = root.resolve()
        pyproject, error = _read_pyproject(root / "pyproject.toml")
        files = list(_walk(root))
        python_files = tuple(p.relative_to(root) for p in files if p.suffix == ".py")
        configs = root / "configs"
        yaml_files = tuple(
            p.relative_to(root)
            for p in files
            if p.suffix in (".yaml", ".yml") and configs in p.parents
        )
        return cls(root, pyproject, error, python_files, yaml_files)

    @property
    def dlgen_table(self) -> dict[str, Any]:
        """The ``[tool.dlgen]`` table of ``pyproject.toml`` (empty when absent)."""
        table = self.pyproject.get("tool", {}).get("dlgen", {})
        return table if isinstance(table, dict) else {}

    @property
    def smoke_entry(self) -> str | None:
        """``[tool.dlgen] smoke``, e.g. ``"pkg.smoke:smoke_case"``, or None."""
        entry = self.dlgen_table.get("smoke")
        return str(entry) if entry is not None else None

    @property
    def src_dir(self) -> Path | None:
        """The import root of the project's code: ``[tool.dlgen] src``, else ``src/``.

        Returns None when neither is given nor exists (code at the top level).
        """
        src = self.dlgen_table.get("src")
        if src is not None:
            return (self.root / str(src)).resolve()
        default = self.root / "src"
        return default if default.is_dir() else None

    @property
    def name(self) -> str:
        """``[project] name`` of pyproject.toml, else the directory name."""
        project = self.pyproject.get("project", {})
        name = project.get("name") if isinstance(project, dict) else None
        return str(name) if name else self.root.name

    def cache_key(self) -> str:
        """A key that is the same for repeated validations of the same kind of project.

        Built from the project name and its top-level module names, not its path, so a
        project validated in a staging directory and again at its final place (or a
        regenerated one) shares the warm cache, while unrelated projects do not collide.

        Returns:
            A short filesystem-safe string.
        """
        tops = sorted({p.parts[0] for p in self.python_files})
        digest = hashlib.sha256("\n".join([self.name, *tops]).encode()).hexdigest()[:12]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)[:40] or "project"
        return f"{safe}-{digest}"

    def rel(self, path: str | Path) -> str:
        """A path as it is shown in findings: relative to the root, with ``/``.

        Args:
            path: An absolute path or one relative to the root (or to the cwd of a tool
                that ran in the root).

        Returns:
            The relative POSIX path, or the path unchanged when it is outside the root.
        """
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            return candidate.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).as_posix()


def _read_pyproject(path: Path) -> tuple[dict[str, Any], str]:
    """Parse ``pyproject.toml``; return ``({}, why)`` when it cannot be read."""
    if not path.is_file():
        return {}, ""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), ""
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"pyproject.toml cannot be read: {exc}"


def copy_project(project: Project, dest: Path, *, max_file_mb: float = 64) -> list[str]:
    """Copy a project into a scratch directory, so code run there cannot modify it.

    VCS folders, virtual environments and caches are left out, and so are files larger
    than ``max_file_mb`` (datasets, checkpoints), which are reported back.

    Args:
        project: The project to copy.
        dest: The destination directory (created; must not exist).
        max_file_mb: Largest file copied, in MiB.

    Returns:
        The relative paths of files left out for their size.
    """
    left_out: list[str] = []
    limit = max_file_mb * 1024 * 1024

    def ignore(directory: str, names: list[str]) -> set[str]:
        base = Path(directory)
        skipped = set()
        for name in names:
            path = base / name
            if path.is_dir() and not path.is_symlink():
                if is_skipped_dir(path) and name != ".dlgen":
                    skipped.add(name)
            elif path.is_file() and path.stat().st_size > limit:
                skipped.add(name)
                left_out.append(project.rel(path))
        return skipped

    shutil.copytree(project.root, dest, ignore=ignore, symlinks=True)
    return left_out
