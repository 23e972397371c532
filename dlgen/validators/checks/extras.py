"""extras (DLG7xx): the libraries a project needs from a dlgen extra are installed.

What it catches: a requirement in ``[project] dependencies`` of the project's
``pyproject.toml`` that one of dlgen's optional extras provides (``transformers``,
``peft`` and ``tokenizers`` come with ``pip install "dlgen[hf]"``) but that the
interpreter running the validation cannot import (DLG701).

Why: the smoke check and the project's tests import the project's code in this same
interpreter; without the package they fail with an ``ImportError`` deep in a child
process, which says nothing about the fix. This check names the missing package and the
extra to install, before the smoke step's traceback is read.

How: the requirement names are read from ``pyproject.toml`` (no project code runs) and
looked up with :func:`importlib.util.find_spec` under their import names.
"""

from __future__ import annotations

import importlib.util
import re

from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding

NAME = "extras"
CODES = {
    "DLG701": "a dependency that a dlgen extra provides is not installed",
}
# dlgen's optional extras (pyproject.toml [project.optional-dependencies]) that generated
# projects depend on: extra -> distribution name -> import name.
EXTRAS: dict[str, dict[str, str]] = {
    "hf": {"transformers": "transformers", "peft": "peft", "tokenizers": "tokenizers"},
}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a requirement string.

    Args:
        requirement: E.g. ``"peft>=0.10"`` or ``"Transformers[torch] >= 4.40"``.

    Returns:
        The lower-case name with ``_`` and ``.`` as ``-`` (``""`` when there is none).
    """
    match = _NAME.match(requirement)
    return re.sub(r"[._]+", "-", match.group(1)).lower() if match else ""


def missing_extras(requirements: list[str]) -> list[tuple[str, str, str]]:
    """The requirements a dlgen extra provides that cannot be imported here.

    Args:
        requirements: ``[project] dependencies`` of a project.

    Returns:
        ``(requirement, import name, extra)`` for each missing one, in order.
    """
    missing = []
    for requirement in requirements:
        name = requirement_name(requirement)
        for extra, packages in EXTRAS.items():
            module = packages.get(name)
            if module is not None and importlib.util.find_spec(module) is None:
                missing.append((requirement.strip(), module, extra))
    return missing


@register_check(NAME, order=70, codes=CODES, cost=1)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Check that the project's extra-provided dependencies are importable.

    Args:
        project: The project.
        options: Unused (nothing runs in a child).

    Returns:
        The check result; one DLG701 error per missing package.
    """
    table = project.pyproject.get("project", {})
    declared = table.get("dependencies", []) if isinstance(table, dict) else []
    requirements = [str(item) for item in declared] if isinstance(declared, list) else []
    findings = [
        Finding(
            check=NAME,
            code="DLG701",
            file="pyproject.toml",
            message=(
                f"the project depends on {requirement}, but `import {module}` fails in the "
                "interpreter running the validation, so the smoke check and the tests "
                "cannot import the project"
            ),
            hint=f'install dlgen\'s {extra} extra: pip install "dlgen[{extra}]"',
        )
        for requirement, module, extra in missing_extras(requirements)
    ]
    return result_from(NAME, findings, metrics={"checked": len(requirements)})
