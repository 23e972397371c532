"""Assemble the model templates into an importable package without rendering a project.

The model and layer templates are plain Python (no Jinja), so copying them next to the
project skeleton's ``models/registry.py`` gives the modules a rendered project contains.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

TEMPLATES = Path(__file__).resolve().parents[2] / "dlgen" / "templates"
REGISTRY = TEMPLATES / "project" / "src" / "pkg" / "models" / "registry.py"


def model_template_files() -> list[Path]:
    """Every model file of every image model template folder."""
    return sorted(TEMPLATES.glob("models/*/src/pkg/models/*.py"))


def layer_template_files() -> list[Path]:
    """Every shared layer file."""
    return sorted((TEMPLATES / "layers").glob("*.py"))


def build_package(root: Path, name: str, families: tuple[str, ...]) -> Path:
    """Write package ``name`` under ``root`` with the families' models, the layers and the registry.

    Returns:
        The package directory.
    """
    package = root / name
    for sub in ("models", "layers"):
        (package / sub).mkdir(parents=True, exist_ok=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for path in layer_template_files():
        shutil.copy(path, package / "layers" / path.name)
    for family in families:
        for path in (TEMPLATES / "models" / family / "src" / "pkg" / "models").glob("*.py"):
            shutil.copy(path, package / "models" / path.name)
    shutil.copy(REGISTRY, package / "models" / "registry.py")
    return package


def import_models(root: Path, name: str, families: tuple[str, ...]) -> dict[str, ModuleType]:
    """Build the package and import ``<name>.models.<family>`` for each family."""
    build_package(root, name, families)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return {family: importlib.import_module(f"{name}.models.{family}") for family in families}
