"""The contracts between template folders, declared in each folder and checked at render.

Every template folder holds a ``contract.yaml`` (never copied into projects):

- ``project/`` declares the requirements every project has;
- ``tasks/<task>/`` declares the ``data.*`` keys its data configs define, per modality
  (``exports``), the shared folders it uses and the requirements its files import;
- ``models/<family>/`` declares the ``data.*`` keys its model configs may interpolate
  (``consumes``), the model config keys derived from the task rather than from the Spec
  (``template_keys``), other model folders and shared folders whose files it imports, and
  its requirements.

:func:`check_sources` runs on the layered sources before anything is rendered (missing
required files, unknown shared or model folders) and :func:`check_rendered` on the
rendered text before anything is formatted (keys exported and consumed, registry names,
the task's monitor), so a broken combination fails in milliseconds with a
:class:`TemplateProblem` naming the folder, the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dlgen.errors import DlgenError
from dlgen.spec.common import Modality

if TYPE_CHECKING:
    from dlgen.spec import Spec

__all__ = [
    "CONTRACT_FILE",
    "ModelContract",
    "ProjectContract",
    "TaskContract",
    "TemplateProblem",
    "check_rendered",
    "check_sources",
    "contract_of",
]

CONTRACT_FILE = "contract.yaml"
_INTERPOLATION = re.compile(r"\$\{data\.([A-Za-z_][A-Za-z0-9_]*)\}")
_REGISTERED = re.compile(r"@register_model\(\s*[\"']([^\"']+)[\"']\s*\)")
_MONITOR = re.compile(r"^\s+(monitor(?:_mode)?)\s*(?::[^=\n]+)?=\s*\"([^\"]+)\"", re.MULTILINE)


class TemplateProblem(DlgenError):
    """A template folder is broken (a dlgen bug, not the user's): missing piece, bad Jinja."""


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dependencies: list[str] = Field(default_factory=list)
    extras: dict[str, list[str]] = Field(default_factory=dict)
    shared: list[str] = Field(default_factory=list)


class ProjectContract(_Contract):
    """What the skeleton (``project/``) declares: the requirements of every project."""


class TaskContract(_Contract):
    """What a task folder declares.

    Attributes:
        exports: ``data.*`` keys its data configs define, per modality.
        source_dependencies: Extra requirements per ``data.source`` value.
    """

    exports: dict[Modality, list[str]]
    source_dependencies: dict[str, list[str]] = Field(default_factory=dict)


class ModelContract(_Contract):
    """What a model folder declares.

    Attributes:
        consumes: ``data.*`` keys its model configs may interpolate.
        template_keys: Model config keys the template derives from the task or the data,
            not from the Spec's hyperparameters (e.g. rnn's ``kind``).
        models: Other model folders whose ``src/pkg/models/`` files it imports.
    """

    consumes: list[str]
    template_keys: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)


_KINDS: dict[str, type[_Contract]] = {
    "project": ProjectContract,
    "tasks": TaskContract,
    "models": ModelContract,
}


@cache
def contract_of(folder: Path) -> _Contract:
    """The parsed ``contract.yaml`` of a template folder.

    Args:
        folder: ``<root>/project``, ``<root>/tasks/<task>`` or ``<root>/models/<family>``.

    Returns:
        A :class:`ProjectContract`, :class:`TaskContract` or :class:`ModelContract`.

    Raises:
        TemplateProblem: If the file is missing or does not match its schema.
    """
    kind = _KINDS[folder.name if folder.name == "project" else folder.parent.name]
    path = folder / CONTRACT_FILE
    if not path.is_file():
        raise TemplateProblem(
            f"{_short(folder)} has no {CONTRACT_FILE}; every template folder declares its "
            "contract (docs/generated_project.md, 'Template contracts')"
        )
    try:
        return kind.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise TemplateProblem(f"{_short(path)} is not a valid {kind.__name__}: {exc}") from exc


def _short(path: Path) -> str:
    """A template path from the templates root on: ``models/rnn/contract.yaml``."""
    parts = path.parts
    for anchor in ("tasks", "models", "shared", "project"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[index:])
    return str(path)


# Required files ------------------------------------------------------------------------


def required_files(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Files each folder must provide (template paths, ``.j2`` optional), by folder kind."""
    family = spec.model.family
    return {
        "tasks": ("src/pkg/task.py", "configs/data/__dataset__.yaml", "configs/data/debug.yaml"),
        "models": (
            f"src/pkg/models/{family}.py",
            f"configs/model/{family}.yaml",
            "configs/model/debug.yaml",
        ),
    }


def check_sources(spec: Spec, task_dir: Path, model_dir: Path, root: Path) -> None:
    """Check the folders of a Spec's project before rendering.

    Args:
        spec: The validated Spec.
        task_dir: The task's template folder.
        model_dir: The family's template folder.
        root: Root of the template folders.

    Raises:
        TemplateProblem: Naming the folder and the missing file or folder.
    """
    required = required_files(spec)
    for folder, kind in ((task_dir, "tasks"), (model_dir, "models")):
        for relative in required[kind]:
            if not any((folder / name).is_file() for name in (relative, f"{relative}.j2")):
                raise TemplateProblem(
                    f"{_short(folder)} is missing {relative}(.j2); every {kind[:-1]} folder "
                    f"provides {', '.join(required[kind])}"
                )
        contract = contract_of(folder)
        for name in contract.shared:
            if not (root / "shared" / name).is_dir():
                raise TemplateProblem(
                    f"{_short(folder / CONTRACT_FILE)} uses shared folder {name!r}, but "
                    f"{_short(root / 'shared' / name)} does not exist"
                )
        for name in contract.models if isinstance(contract, ModelContract) else []:
            if not (root / "models" / name / "src" / "pkg" / "models").is_dir():
                raise TemplateProblem(
                    f"{_short(folder / CONTRACT_FILE)} uses model folder {name!r}, which has "
                    "no src/pkg/models/ files"
                )


# Rendered files ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A rendered project file and the template it came from.

    Attributes:
        text: The rendered text (not yet formatted).
        origin: The template file.
    """

    text: str
    origin: Path


def check_rendered(spec: Spec, files: dict[str, Rendered], task_dir: Path, model_dir: Path) -> None:
    """Check the rendered configs and code against the folders' contracts.

    Args:
        spec: The validated Spec.
        files: Project path -> rendered file, before formatting.
        task_dir: The task's template folder.
        model_dir: The family's template folder.

    Raises:
        TemplateProblem: Naming the folder, the file and the key that break the contract.
    """
    task_contract = contract_of(task_dir)
    model_contract = contract_of(model_dir)
    assert isinstance(task_contract, TaskContract) and isinstance(model_contract, ModelContract)
    exported = _check_exports(spec, files, task_dir, task_contract)
    family = spec.model.family
    for name in (f"configs/model/{family}.yaml", "configs/model/debug.yaml"):
        rendered = files[name]
        for key in sorted(set(_INTERPOLATION.findall(rendered.text))):
            if key not in model_contract.consumes:
                raise TemplateProblem(
                    f"{_short(rendered.origin)} interpolates ${{data.{key}}}, which "
                    f"{_short(model_dir / CONTRACT_FILE)} does not declare in consumes"
                )
            if key not in exported:
                raise TemplateProblem(
                    f"{_short(rendered.origin)} interpolates ${{data.{key}}}, but "
                    f"{_short(task_dir)} does not export {key!r} for {spec.modality.value} data "
                    f"(exports: {', '.join(exported)})"
                )
    _check_registry_name(spec, files)
    _check_monitor(spec, files)


def _check_exports(
    spec: Spec, files: dict[str, Rendered], task_dir: Path, contract: TaskContract
) -> list[str]:
    exported = contract.exports.get(spec.modality)
    if exported is None:
        raise TemplateProblem(
            f"{_short(task_dir / CONTRACT_FILE)} declares no exports for "
            f"{spec.modality.value} data"
        )
    main = files[f"configs/data/{spec.dataset.name}.yaml"]
    keys = _yaml_keys(main)
    for key in exported:
        if key not in keys:
            raise TemplateProblem(
                f"{_short(main.origin)} does not define data key {key!r}, which "
                f"{_short(task_dir / CONTRACT_FILE)} exports for {spec.modality.value} data"
            )
    debug = files["configs/data/debug.yaml"]
    unknown = sorted(_yaml_keys(debug) - {"defaults"} - keys)
    if unknown:
        raise TemplateProblem(
            f"{_short(debug.origin)} sets data key {unknown[0]!r}, which {_short(main.origin)} "
            "does not define; the debug preset only overrides keys of the main option"
        )
    return exported


def _yaml_keys(rendered: Rendered) -> set[str]:
    try:
        document: Any = yaml.safe_load(rendered.text)
    except yaml.YAMLError as exc:
        raise TemplateProblem(f"{_short(rendered.origin)} renders invalid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise TemplateProblem(f"{_short(rendered.origin)} must render a YAML mapping")
    return set(document)


def _check_registry_name(spec: Spec, files: dict[str, Rendered]) -> None:
    family = spec.model.family
    module = files[f"src/{spec.package_name}/models/{family}.py"]
    registered = _REGISTERED.findall(module.text)
    for name in (f"configs/model/{family}.yaml", "configs/model/debug.yaml"):
        config = files[name]
        document = yaml.safe_load(config.text)
        if "name" not in document and "defaults" in document:
            continue  # composed onto the main option, whose name it keeps
        if document.get("name") not in registered:
            raise TemplateProblem(
                f"{_short(config.origin)} has name {document.get('name')!r}, but "
                f"{_short(module.origin)} registers {registered or 'no model'}; the model "
                "config's name must be the register_model key"
            )


def _check_monitor(spec: Spec, files: dict[str, Rendered]) -> None:
    task = spec.task_entry
    module = files[f"src/{spec.package_name}/task.py"]
    declared = dict(_MONITOR.findall(module.text))
    for attribute, expected in (("monitor", task.monitor), ("monitor_mode", task.monitor_mode)):
        if declared.get(attribute) != expected:
            raise TemplateProblem(
                f"{_short(module.origin)} sets {attribute} = {declared.get(attribute)!r}, but "
                f"the catalog's task {task.key!r} declares {expected!r}; make them equal"
            )


# Requirements --------------------------------------------------------------------------


def requirements(spec: Spec, folders: list[Path]) -> tuple[list[str], dict[str, list[str]]]:
    """The requirements and optional extras of a Spec's project, from its folders' contracts.

    Args:
        spec: The validated Spec.
        folders: The project, task and model folders (and any model folders they use).

    Returns:
        Requirement strings in folder order without repeats, and extras by name.
    """
    dependencies: list[str] = []
    extras: dict[str, list[str]] = {}
    for folder in folders:
        contract = contract_of(folder)
        dependencies.extend(contract.dependencies)
        if isinstance(contract, TaskContract):
            dependencies.extend(contract.source_dependencies.get(spec.dataset.source, []))
        for name, packages in contract.extras.items():
            extras.setdefault(name, []).extend(p for p in packages if p not in extras.get(name, []))
    return list(dict.fromkeys(dependencies)), extras
