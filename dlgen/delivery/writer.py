"""The atomic writer: stage files next to the destination, then move them into place.

Nothing is ever half-written: files go to a staging directory on the same file
system as the output, and only a complete, accepted project is renamed onto the
output path. An existing non-empty output directory is replaced only with
``force``, and even then the old one is removed only after the new one is in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from dlgen.errors import OutputExists, UnsafeName

STAGING_PREFIX = ".dlgen-staging-"


def check_output_dir(out_dir: Path, *, force: bool) -> None:
    """Refuse early when the output directory cannot be written.

    Raises:
        OutputExists: If it exists, is not empty, and ``force`` is false, or is a file.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExists(
            f"output path {out_dir} exists and is not a directory",
            hint="choose another path with -o",
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise OutputExists(
            f"output directory {out_dir} exists and is not empty",
            hint="choose another path with -o, or pass --force to replace it",
        )


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UnsafeName(f"refusing to write {path!r}: paths must stay inside the project")
    return relative


def stage_files(files: Mapping[str, str], out_dir: Path) -> Path:
    """Write ``files`` into a new staging directory beside ``out_dir``.

    Args:
        files: Project-relative POSIX paths mapped to their text.
        out_dir: The final destination (its parent receives the staging dir).

    Returns:
        The staging directory.

    Raises:
        UnsafeName: If a path would escape the project.
    """
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    try:
        for name, text in sorted(files.items()):
            target = staging.joinpath(*_safe_relative(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
            if name.endswith((".py", ".sh")) and text.startswith("#!"):
                target.chmod(0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def commit_staging(staging: Path, out_dir: Path, *, force: bool) -> Path:
    """Move a complete staging directory onto ``out_dir``.

    Args:
        staging: A directory made by :func:`stage_files`.
        out_dir: The destination.
        force: Replace a non-empty destination.

    Returns:
        The resolved destination.

    Raises:
        OutputExists: If the destination became non-empty and ``force`` is false.
    """
    out_dir = out_dir.resolve()
    check_output_dir(out_dir, force=force)
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return out_dir
    # Replace a non-empty directory: swap it aside first so a failure keeps one copy.
    trash = Path(tempfile.mkdtemp(prefix=".dlgen-old-", dir=out_dir.parent))
    os.replace(out_dir, trash / "old")
    try:
        os.replace(staging, out_dir)
    except BaseException:
        os.replace(trash / "old", out_dir)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    return out_dir


def discard(staging: Path) -> None:
    """Remove a staging directory and everything in it."""
    shutil.rmtree(staging, ignore_errors=True)
