"""The Spec: the one contract between analysis, rendering and validation."""

from __future__ import annotations

import json
import operator
import re
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dlgen import catalog
from dlgen.errors import SpecError
from dlgen.spec.common import (
    BYTES_PER_PARAMETER,
    MAX_PARAMETER_BYTES,
    Framework,
    Language,
    Modality,
)
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams
from dlgen.spec.training import TrainingSpec

SPEC_SCHEMA_VERSION = 1
PROJECT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_HPARAM_MODELS = tuple(f.hparams_model for f in catalog.all_families())
# The discriminated union of every family's hyperparameter model, built from the
# catalog so that adding a family module needs no edit here.
if TYPE_CHECKING:  # static checkers see the common base class
    ModelHParams = ArchitectureHParams
else:
    ModelHParams = (
        Annotated[reduce(operator.or_, _HPARAM_MODELS), Field(discriminator="family")]
        if len(_HPARAM_MODELS) > 1
        else _HPARAM_MODELS[0]
    )


class Spec(BaseModel):
    """A complete, validated description of the project to generate.

    Everything downstream of the analyzer reads only this object. ``assumptions``
    lists, in the user's language, every value that was filled in rather than
    read from the request.
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    schema_version: int = SPEC_SCHEMA_VERSION
    language: Language = "en"
    request: str = Field(default="", description="The request as the user wrote it (README only).")
    name: str = Field(description="Project name: lowercase letters, digits, underscores.")
    task: str = Field(
        description="Key of a catalog task, e.g. 'image_classification'.",
        json_schema_extra={"enum": list(catalog.task_keys())},
    )
    modality: Modality
    framework: Framework = "pytorch"
    dataset: DatasetSpec
    model: ModelHParams
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    assumptions: list[str] = Field(default_factory=list)

    @field_validator("task")
    @classmethod
    def _check_task(cls, value: str) -> str:
        if value not in catalog.task_keys():
            raise ValueError(f"unknown task {value!r}; accepted: {', '.join(catalog.task_keys())}")
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not PROJECT_NAME_PATTERN.match(value):
            raise ValueError(
                f"project name {value!r} must match {PROJECT_NAME_PATTERN.pattern} "
                "(start with a lowercase letter; letters, digits and underscores; at most 64)"
            )
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Spec:
        family = catalog.family(self.model.family)
        problems: list[str] = []
        if self.task not in family.tasks:
            served = ", ".join(family.tasks)
            problems.append(
                f"{family.names.en} does not serve task {self.task!r}; it serves: {served}"
            )
        task = catalog.task(self.task)
        if self.modality not in task.modalities:
            accepted = ", ".join(m.value for m in task.modalities)
            problems.append(
                f"task {self.task!r} takes {accepted} data, not {self.modality.value!r}; "
                "choose a dataset of one of those modalities or another task"
            )
        missing = [name for name in task.requires if getattr(self.dataset, name) is None]
        if missing:
            problems.append(
                f"task {self.task!r} needs dataset.{', dataset.'.join(missing)}, which dataset "
                f"{self.dataset.name!r} does not set; set it or choose a dataset that has it"
            )
        datasets = {entry.key: entry for entry in catalog.all_datasets()}
        entry = datasets.get(self.dataset.name)
        if task.dataset_tasks and entry is not None and entry.task not in task.dataset_tasks:
            fitting = ", ".join(
                sorted(k for k, e in datasets.items() if e.task in task.dataset_tasks)
            )
            problems.append(
                f"dataset {self.dataset.name!r} is for task {entry.task!r} and has no labels for "
                f"task {self.task!r}; choose one of: {fitting}"
            )
        if self.dataset.modality != self.modality:
            problems.append(
                f"dataset modality {self.dataset.modality.value!r} differs from the spec's "
                f"modality {self.modality.value!r}; make them equal"
            )
        if self.model.variant is not None and self.model.variant not in {
            v.key for v in family.variants
        }:
            known = ", ".join(v.key for v in family.variants) or "none"
            problems.append(
                f"{family.names.en} has no variant {self.model.variant!r}; known: {known} "
                "(or set variant to null for a custom configuration)"
            )
        problems.extend(self.model.check_dataset(self.dataset))
        if not problems:
            params = self.model.estimate_parameters(self.dataset)
            if params * BYTES_PER_PARAMETER > MAX_PARAMETER_BYTES:
                problems.append(
                    f"the model would have about {params:,} parameters "
                    f"({params * BYTES_PER_PARAMETER / 1e9:,.0f} GB in fp32), over the "
                    f"{MAX_PARAMETER_BYTES // 10**9} GB limit; reduce its width or depth"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def family(self) -> catalog.ArchitectureFamily:
        """The catalog entry of the model's architecture family."""
        return catalog.family(self.model.family)

    @property
    def task_entry(self) -> catalog.TaskEntry:
        """The catalog entry of the task."""
        return catalog.task(self.task)

    @property
    def package_name(self) -> str:
        """The Python package name used for ``src/<package>``."""
        return self.name

    def estimated_parameters(self) -> int:
        """The family's parameter estimate for this Spec's model and data."""
        return self.model.estimate_parameters(self.dataset)

    # Serialisation ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dictionary (enums as values, tuples as lists)."""
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        """The Spec as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_yaml(self) -> str:
        """The Spec as YAML text, keys in declaration order."""
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "spec") -> Spec:
        """Validate a mapping into a Spec.

        Args:
            data: The parsed mapping.
            origin: Where it came from, for the error message.

        Returns:
            The validated Spec.

        Raises:
            SpecError: With every validation problem, field by field.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(
                f"{origin} is not a valid Spec:\n{format_validation_error(exc)}",
                hint="fix the fields above, or run `dlgen spec REQUEST` to see a valid Spec",
            ) from exc

    @classmethod
    def from_json(cls, text: str, *, origin: str = "spec") -> Spec:
        """Parse and validate JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{origin} is not valid JSON: {exc}") from exc
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_yaml(cls, text: str, *, origin: str = "spec") -> Spec:
        """Parse and validate YAML text (JSON is YAML too)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{origin} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise SpecError(f"{origin} must hold a mapping, got {type(data).__name__}")
        return cls.from_dict(data, origin=origin)

    @classmethod
    def load(cls, path: str | Path) -> Spec:
        """Read a Spec from a ``.yaml``, ``.yml`` or ``.json`` file.

        Raises:
            SpecError: If the file cannot be read or does not validate.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read spec file {path}: {exc.strerror}") from exc
        if path.suffix == ".json":
            return cls.from_json(text, origin=str(path))
        return cls.from_yaml(text, origin=str(path))


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: the dotted field path and pydantic's message."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "spec"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  - {location}: {message}")
    return "\n".join(lines)
