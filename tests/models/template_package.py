"""Assemble the model templates into an importable package without the renderer.

The model templates are plain Python (no Jinja), so copying them next to the layer files and
a stand-in ``registry.py`` gives the same modules a rendered project would contain.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

TEMPLATES = Path(__file__).resolve().parents[2] / "dlgen" / "templates"

REGISTRY_STAND_IN = '''
from typing import Any, Callable

MODELS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register_model(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        MODELS[name] = builder
        return builder

    return decorate


def build_model(cfg: dict[str, Any]) -> Any:
    return MODELS[cfg["name"]](cfg)
'''


def model_template_files() -> list[Path]:
    """Every model file of every model template folder."""
    return sorted(TEMPLATES.glob("models/*/src/pkg/models/*.py"))


def build_package(root: Path, name: str) -> Path:
    """Write package ``name`` under ``root`` with ``models/`` and ``layers/`` from the templates.

    Returns:
        The package directory.
    """
    package = root / name
    for sub in ("models", "layers"):
        (package / sub).mkdir(parents=True, exist_ok=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for path in sorted((TEMPLATES / "layers").glob("*.py")):
        shutil.copy(path, package / "layers" / path.name)
    for path in model_template_files():
        shutil.copy(path, package / "models" / path.name)
    (package / "models" / "registry.py").write_text(REGISTRY_STAND_IN)
    return package


def import_models(root: Path, name: str, families: tuple[str, ...]) -> dict[str, ModuleType]:
    """Build the package and import ``<name>.models.<family>`` for each family."""
    build_package(root, name)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return {family: importlib.import_module(f"{name}.models.{family}") for family in families}
