"""Prompt files of the LLM backends, loaded with :mod:`importlib.resources`.

Each ``*.j2`` file starts with a version line, ``{# prompt: NAME | version: N #}``;
bump N whenever the wording changes so a Spec can be traced to the prompt that
produced it. Templates render in a sandboxed Jinja environment with
``StrictUndefined``; the catalog is rendered in by :func:`catalog_context` so the
model only chooses families, variants and datasets dlgen knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from dlgen import catalog

__all__ = ["Prompt", "catalog_context", "load", "render", "versions"]

PROMPT_NAMES: tuple[str, ...] = ("analyze_system", "analyze_request", "reask")
_VERSION_LINE = re.compile(
    r"\A\{#\s*prompt:\s*(?P<name>[a-z_]+)\s*\|\s*version:\s*(?P<version>\d+)\s*#\}"
)
_ENV = SandboxedEnvironment(
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    autoescape=False,
)


@dataclass(frozen=True)
class Prompt:
    """One prompt file.

    Attributes:
        name: File stem, e.g. "analyze_system".
        version: The number on its version line.
        source: The Jinja source.
    """

    name: str
    version: int
    source: str


@cache
def load(name: str) -> Prompt:
    """Read and check the prompt file ``<name>.j2``.

    Raises:
        KeyError: If there is no such prompt.
        ValueError: If the file lacks its version line or names another prompt.
    """
    if name not in PROMPT_NAMES:
        raise KeyError(f"unknown prompt {name!r}; known: {', '.join(PROMPT_NAMES)}")
    source = resources.files(__name__).joinpath(f"{name}.j2").read_text(encoding="utf-8")
    match = _VERSION_LINE.match(source)
    if match is None or match["name"] != name:
        raise ValueError(f"prompt {name}.j2 must start with '{{# prompt: {name} | version: N #}}'")
    return Prompt(name=name, version=int(match["version"]), source=source)


def render(name: str, **context: Any) -> str:
    """Render prompt ``name`` with ``context``; a missing variable is an error."""
    return _ENV.from_string(load(name).source).render(**context).strip() + "\n"


def versions() -> dict[str, int]:
    """The version of every prompt, by name."""
    return {name: load(name).version for name in PROMPT_NAMES}


def _family_entry(family: catalog.ArchitectureFamily) -> dict[str, Any]:
    return {
        "key": family.key,
        "en": family.names.en,
        "zh": family.names.zh,
        "aliases": list(family.names.aliases),
        "tasks": list(family.tasks),
        "default_variant": family.default_variant,
        "default_datasets": dict(family.default_datasets),
        "generatable": family.template is not None,
        "training_defaults": dict(family.training_defaults),
        "dataset_variants": dict(family.dataset_variants),
        "variants": [
            {
                "key": v.key,
                "name": v.names.en,
                "hparams": v.hparams,
                "dataset_overrides": v.dataset_overrides,
            }
            for v in family.variants
        ],
    }


def _dataset_entry(entry: catalog.DatasetEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "en": entry.names.en,
        "zh": entry.names.zh,
        "task": entry.task,
        "modality": entry.modality.value,
        "source": entry.source,
        "input_shape": list(entry.input_shape),
        "num_classes": entry.num_classes,
        "vocab_size": entry.vocab_size,
        "output_shape": list(entry.output_shape) if entry.output_shape else None,
        "default_architecture": entry.default_architecture,
        "notes": entry.notes,
    }


def _task_entry(task: catalog.TaskEntry) -> dict[str, Any]:
    return {
        "key": task.key,
        "en": task.names.en,
        "zh": task.names.zh,
        "modalities": [m.value for m in task.modalities],
        "default_family": task.default_family,
        "default_dataset": task.default_dataset,
        "generatable": task.template is not None,
        "description": task.description,
    }


def catalog_context() -> dict[str, Any]:
    """The catalog as plain data for the prompts: tasks, families and datasets."""
    return {
        "tasks": [_task_entry(t) for t in catalog.all_tasks()],
        "families": [_family_entry(f) for f in catalog.all_families()],
        "datasets": [_dataset_entry(d) for d in catalog.all_datasets()],
    }
