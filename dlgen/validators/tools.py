"""Running the trusted tools the static checks build on: ruff, black, mypy.

The tools run as ``python -m <tool>`` with the interpreter running dlgen (so the
versions are the ones dlgen was installed with), in the project directory, with a
timeout, a scrubbed environment and no cache written into the project.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dlgen.errors import DlgenError
from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions
from dlgen.validators.sandbox import Outcome, python_cmd, run_child, scrubbed_env

# Pydocstyle with the Google convention. D105 (magic methods) and D107 (``__init__``)
# are left out: Google style documents constructor arguments in the class docstring,
# which the docstrings check verifies itself.
DOCSTRING_RULES = ("--select", "D", "--ignore", "D105,D107")
GOOGLE_CONVENTION = 'lint.pydocstyle.convention = "google"'
ANNOTATION_RULES = ("--select", "ANN", "--ignore", "ANN401")


class ToolError(DlgenError):
    """A tool a check needs is missing or failed to run; the check reports "error"."""


def require(module: str, package: str | None = None) -> None:
    """Fail with a clear message when a tool's module is not importable.

    Args:
        module: The module run with ``python -m``.
        package: The distribution to install, when its name differs.

    Raises:
        ToolError: When the module is not installed.
    """
    if importlib.util.find_spec(module) is None:
        raise ToolError(
            f"{module} is not installed in this Python environment",
            hint=f"install it: pip install {package or module}",
        )


def run_tool(
    module: str,
    args: Sequence[str],
    *,
    project: Project,
    options: CheckOptions,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """Run ``python -m module args`` in the project directory.

    Args:
        module: The tool's module ("ruff", "black", "mypy").
        args: Its arguments.
        project: The project (the working directory).
        options: For the timeout.
        env: Extra environment variables.

    Returns:
        How it ended.

    Raises:
        ToolError: When the tool is missing or ran past the timeout.
    """
    require(module)
    outcome = run_child(
        [*python_cmd(), "-m", module, *args],
        cwd=project.root,
        timeout=options.timeout,
        env=scrubbed_env(env),
    )
    if outcome.timed_out:
        raise ToolError(f"{module} {outcome.cause(options.timeout, None)}")
    return outcome


def ruff_json(
    args: Sequence[str], *, project: Project, options: CheckOptions
) -> list[dict[str, Any]]:
    """Run ``ruff check`` with JSON output and return its diagnostics.

    Args:
        args: Arguments after ``ruff check`` (selection, config, targets).
        project: The project.
        options: For the timeout.

    Returns:
        Ruff's diagnostics (``code``, ``message``, ``filename``, ``location``, ...).

    Raises:
        ToolError: When ruff is missing or fails.
    """
    base = ["check", "--no-cache", "--output-format", "json", "--exit-zero", "--quiet"]
    outcome = run_tool("ruff", [*base, *args], project=project, options=options)
    if outcome.returncode != 0:
        raise ToolError(f"ruff failed (exit {outcome.returncode}): {outcome.stderr.strip()}")
    try:
        data = json.loads(outcome.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise ToolError(f"ruff printed something that is not JSON: {exc}") from exc
    return [item for item in data if isinstance(item, dict)]


def python_targets(project: Project) -> list[str]:
    """The project's Python files, relative to the root, for tools given explicit files.

    Args:
        project: The project.

    Returns:
        POSIX paths.
    """
    return [path.as_posix() for path in project.python_files]


def cache_root(options: CheckOptions) -> Path:
    """dlgen's cache directory: ``$XDG_CACHE_HOME/dlgen`` or ``~/.cache/dlgen``.

    Args:
        options: ``options.cache_dir`` overrides the default.

    Returns:
        The directory (not created).
    """
    if options.cache_dir is not None:
        return options.cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlgen"
