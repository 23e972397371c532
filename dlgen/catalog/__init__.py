"""The catalog: every task, architecture family and dataset dlgen knows.

Tasks live one per module in :mod:`dlgen.catalog.tasks` (each defines ``TASK``),
families one per module in :mod:`dlgen.catalog.families` (each defines ``FAMILY``).
(The accessors are ``all_tasks()``, ``all_families()`` and ``all_datasets()``: plain
``tasks``/``families``/``datasets`` would be shadowed by the submodules of the same
names.) Adding a task or a family means adding one module (and, to make it
generatable, one template folder): the registries below discover them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any, TypeVar

from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Names, Signal, TaskEntry, Variant
from dlgen.catalog.datasets import DATASETS

Entry = TypeVar("Entry", ArchitectureFamily, TaskEntry)

__all__ = [
    "ArchitectureFamily",
    "DatasetEntry",
    "Names",
    "Signal",
    "TaskEntry",
    "Variant",
    "dataset",
    "all_datasets",
    "all_families",
    "all_tasks",
    "family",
    "task",
    "task_keys",
]


def _discover(package_name: str, attribute: str, kind: type[Entry]) -> dict[str, Entry]:
    """Entries defined as ``attribute`` by the modules of a package, keyed and sorted."""
    package = importlib.import_module(package_name)
    found: dict[str, Entry] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package_name}.{info.name}")
        entry: Any = getattr(module, attribute, None)
        if not isinstance(entry, kind):
            continue
        if entry.key in found:
            raise RuntimeError(f"two catalog modules define {attribute.lower()} {entry.key!r}")
        found[entry.key] = entry
    return found


@cache
def _load_families() -> dict[str, ArchitectureFamily]:
    return _discover("dlgen.catalog.families", "FAMILY", ArchitectureFamily)


@cache
def _load_tasks() -> dict[str, TaskEntry]:
    return _discover("dlgen.catalog.tasks", "TASK", TaskEntry)


def all_tasks() -> tuple[TaskEntry, ...]:
    """All tasks, sorted by key."""
    return tuple(_load_tasks().values())


def task_keys() -> tuple[str, ...]:
    """The keys of all tasks, sorted (the values ``Spec.task`` accepts)."""
    return tuple(_load_tasks())


def task(key: str) -> TaskEntry:
    """The task with this key.

    Raises:
        KeyError: With the list of known keys.
    """
    table = _load_tasks()
    if key not in table:
        raise KeyError(f"unknown task {key!r}; known: {', '.join(table)}")
    return table[key]


def all_families() -> tuple[ArchitectureFamily, ...]:
    """All architecture families, sorted by key."""
    return tuple(_load_families().values())


def family(key: str) -> ArchitectureFamily:
    """The family with this key.

    Raises:
        KeyError: With the list of known keys.
    """
    table = _load_families()
    if key not in table:
        raise KeyError(f"unknown architecture family {key!r}; known: {', '.join(table)}")
    return table[key]


def all_datasets() -> tuple[DatasetEntry, ...]:
    """All dataset entries, in catalog order."""
    return DATASETS


def dataset(key: str) -> DatasetEntry:
    """The dataset entry with this key.

    Raises:
        KeyError: With the list of known keys.
    """
    for entry in DATASETS:
        if entry.key == key:
            return entry
    raise KeyError(f"unknown dataset {key!r}; known: {', '.join(d.key for d in DATASETS)}")
