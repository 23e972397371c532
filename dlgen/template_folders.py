"""Where the template folders live, and which tasks and families have one.

Catalog entries derive their ``template`` from this: a task or a family can be
generated exactly when its folder exists, so no list of "generated now" is kept by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

TEMPLATES_ROOT = Path(__file__).parent / "templates"

FolderKind = Literal["tasks", "models", "shared"]


def template_folder(kind: FolderKind, key: str, root: Path | None = None) -> Path | None:
    """The template folder of a task, a model family or a shared code folder.

    Args:
        kind: ``tasks``, ``models`` or ``shared``.
        key: The task key, the family key or the shared folder's name.
        root: Root of the template folders; dlgen's own by default.

    Returns:
        The folder, or None when it does not exist.
    """
    folder = (root or TEMPLATES_ROOT) / kind / key
    return folder if folder.is_dir() else None
