"""The catalog: every architecture family and dataset dlgen knows.

Families live one per module in :mod:`dlgen.catalog.families`; each module
defines a module-level ``FAMILY``. (The accessors are ``all_families()`` and
``all_datasets()``: plain ``families``/``datasets`` would be shadowed by the
submodules of the same names.) Adding a family means adding one module (and,
to make it generatable, one template folder): the registry below discovers it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Names, Variant
from dlgen.catalog.datasets import DATASETS

__all__ = [
    "ArchitectureFamily",
    "DatasetEntry",
    "Names",
    "Variant",
    "dataset",
    "all_datasets",
    "all_families",
    "family",
]


@cache
def _load_families() -> dict[str, ArchitectureFamily]:
    package = importlib.import_module("dlgen.catalog.families")
    found: dict[str, ArchitectureFamily] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        entry = getattr(module, "FAMILY", None)
        if not isinstance(entry, ArchitectureFamily):
            continue
        if entry.key in found:
            raise RuntimeError(f"two catalog modules define family {entry.key!r}")
        found[entry.key] = entry
    return found


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
