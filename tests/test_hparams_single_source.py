"""Every model hyperparameter has one source: four declarations of it must agree.

A family's hyperparameters are declared in the catalog's pydantic model
(``dlgen/catalog/families/<family>.py``), the model config template
(``configs/model/<family>.yaml.j2``), the debug preset (``configs/model/debug.yaml.j2``)
and the config dataclass of the generated model module (``src/pkg/models/<family>.py``,
the one its ``@register_model("<family>")`` builder constructs). For every family with
templates and every (task, modality) it serves with a catalog dataset, this renders the
two model configs of one Spec per variant and per dataset (Jinja only: no formatting,
no torch) and checks:

- the debug preset has the keys of the model config (the same code paths);
- every model config has the skeleton's keys, ``name`` and ``pretrained: null`` (read by
  ``models/registry.py:build_model`` for every family, so neither a dataclass field nor a
  ``template_keys`` entry); every other key is a field of the config dataclass, and every
  field is set by the model config of at least one combination;
- every literal (non-``${data.*}``) key is either a field of the pydantic model with the
  Spec's value, or a key the template derives from the task, declared in the folder's
  ``contract.yaml`` as ``template_keys``;
- every pydantic field (but ``family``) reaches the model config in some combination:
  as a literal key, or as ``${data.<key>}`` when ``check_dataset`` pins the Spec's value to
  that data fact (rnn's ``horizon``: the forecaster reads it from the data config, and a
  Spec may only repeat the dataset's horizon).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from dlgen import catalog
from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Variant
from dlgen.render import json_string, layered_sources, python_literal, yaml_value
from dlgen.spec import Spec
from dlgen.template_folders import TEMPLATES_ROOT, template_folder
from tests.factories import variant_spec

FAMILIES = [family for family in catalog.all_families() if family.template]
# Keys every model config has that the skeleton's build_model reads, not the family: the
# registry key and the weights to start from (models/registry.py, utils/pretrained.py).
SKELETON_KEYS = frozenset({"name", "pretrained"})
_DATA_KEY = re.compile(r"^\$\{data\.([A-Za-z_][A-Za-z0-9_]*)\}$")


# Combinations: (task, modality) -> one valid Spec per variant and per dataset -----------


@dataclass(frozen=True)
class Case:
    """One rendered Spec: its two model configs, its data config and its dataclass."""

    family: str
    task: str
    modality: str
    spec: Spec
    model: dict[str, Any]
    debug: dict[str, Any]
    debug_origin: str
    data: dict[str, Any]
    dataclass_name: str
    dataclass_fields: tuple[str, ...]
    dataclass_origin: str

    @property
    def label(self) -> str:
        return (
            f"{self.family} [{self.task}/{self.modality}, dataset {self.spec.dataset.name}, "
            f"variant {self.spec.model.variant}]"
        )


def _spec(
    family: ArchitectureFamily, variant: Variant, entry: DatasetEntry, task: str
) -> Spec | None:
    """A Spec of ``variant`` on ``entry``, or None when the catalog does not allow it."""
    try:
        return variant_spec(family, variant, entry, task)
    except ValidationError:
        return None


@cache
def combinations(family_key: str) -> dict[tuple[str, str], tuple[Spec, ...]]:
    """Valid Specs per (task, modality) the family serves where a task template exists.

    Every variant appears once (on the first dataset of the combination it fits) and
    every dataset once (with the first variant that fits it), so each template branch a
    catalog configuration can reach is rendered.
    """
    family = catalog.family(family_key)
    found: dict[tuple[str, str], tuple[Spec, ...]] = {}
    for task in family.tasks:
        if template_folder("tasks", task) is None:
            continue
        for modality in catalog.task(task).modalities:
            entries = [
                e for e in catalog.all_datasets() if e.task == task and e.modality == modality
            ]
            specs: dict[tuple[str, str], Spec] = {}
            used_variants: set[str] = set()
            for entry in entries:
                preferred = family.dataset_variants.get(entry.key, family.default_variant)
                ordered = sorted(family.variants, key=lambda v: v.key != preferred)
                for variant in ordered:
                    if (entry.key, variant.key) in specs:
                        continue
                    new_variant = variant.key not in used_variants
                    new_dataset = all(key != entry.key for key, _ in specs)
                    if not (new_variant or new_dataset):
                        continue
                    spec = _spec(family, variant, entry, task)
                    if spec is not None:
                        assert type(spec.model) is family.hparams_model, family.key
                        specs[(entry.key, variant.key)] = spec
                        used_variants.add(variant.key)
            if specs:
                found[(task, modality.value)] = tuple(specs.values())
    return found


def _case_params() -> Iterator[Any]:
    for family in FAMILIES:
        for task, modality in combinations(family.key):
            yield pytest.param(family.key, task, modality, id=f"{family.key}-{task}-{modality}")


# Rendering (Jinja only, as render() does before formatting) -----------------------------


@cache
def _environment() -> SandboxedEnvironment:
    # The options and filters render() documents (docs/generated_project.md).
    environment = SandboxedEnvironment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters.update({"yaml": yaml_value, "json": json_string, "py": python_literal})
    return environment


@cache
def _template(origin: Path) -> Template:
    return _environment().from_string(origin.read_text(encoding="utf-8"))


def _render(origin: Path, spec: Spec) -> str:
    if origin.suffix != ".j2":
        return origin.read_text(encoding="utf-8")
    # The context names the config templates use; a new one fails here, loudly.
    context = {
        "spec": spec,
        "package": spec.package_name,
        "lang": spec.language,
        "family": spec.family,
        "task": spec.task_entry,
        "template": spec.model.family,
        "training": spec.training.model_dump(mode="json"),
    }
    try:
        return _template(origin).render(context)
    except TemplateError as exc:
        pytest.fail(f"cannot render {origin} (add what it needs to this test's context): {exc}")


def _mapping(text: str, origin: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict), f"{origin} does not render a YAML mapping"
    return document


def _config_dataclass(source: str, family: str, origin: str) -> tuple[str, tuple[str, ...]]:
    """Name and fields of the dataclass the ``@register_model(family)`` builder constructs."""
    tree = ast.parse(source, filename=origin)
    dataclasses: dict[str, tuple[str, ...]] = {}
    builders: list[ast.FunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            _is_named(d, "dataclass") for d in node.decorator_list
        ):
            dataclasses[node.name] = tuple(
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and "ClassVar" not in ast.unparse(item.annotation)
            )
        if isinstance(node, ast.FunctionDef) and any(
            _is_named(d, "register_model")
            and isinstance(d, ast.Call)
            and [a.value if isinstance(a, ast.Constant) else a for a in d.args] == [family]
            for d in node.decorator_list
        ):
            builders.append(node)
    assert len(builders) == 1, f"{origin} must have one @register_model({family!r}) builder"
    built = sorted(
        {
            call.func.id
            for call in ast.walk(builders[0])
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in dataclasses
        }
    )
    assert len(built) == 1, (
        f"{origin}: {builders[0].name} must build exactly one config dataclass of the module, "
        f"found {built or 'none'}"
    )
    return built[0], dataclasses[built[0]]


def _is_named(node: ast.expr, name: str) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == name) or (
        isinstance(target, ast.Attribute) and target.attr == name
    )


def _case(spec: Spec, family: str, task: str, modality: str) -> Case:
    sources = layered_sources(spec, TEMPLATES_ROOT)
    model = sources[f"configs/model/{family}.yaml"]
    debug = sources["configs/model/debug.yaml"]
    data = sources[f"configs/data/{spec.dataset.name}.yaml"]
    module = sources[f"src/{spec.package_name}/models/{family}.py"]
    name, fields = _config_dataclass(_render(module.origin, spec), family, str(module.origin))
    return Case(
        family=family,
        task=task,
        modality=modality,
        spec=spec,
        model=_mapping(_render(model.origin, spec), str(model.origin)),
        debug=_mapping(_render(debug.origin, spec), str(debug.origin)),
        debug_origin=_short(debug.origin),
        data=_mapping(_render(data.origin, spec), str(data.origin)),
        dataclass_name=name,
        dataclass_fields=fields,
        dataclass_origin=_short(module.origin),
    )


@cache
def _combination_cases(family: str, task: str, modality: str) -> tuple[Case, ...]:
    return tuple(
        _case(spec, family, task, modality) for spec in combinations(family)[task, modality]
    )


def cases(family: str, task: str | None = None, modality: str | None = None) -> list[Case]:
    """The rendered Specs of one combination, or of all the family's combinations."""
    return [
        case
        for t, m in combinations(family)
        if (task, modality) in ((None, None), (t, m))
        for case in _combination_cases(family, t, m)
    ]


def _short(path: Path) -> str:
    return path.relative_to(TEMPLATES_ROOT).as_posix()


def _model_file(family: str) -> str:
    return f"models/{family}/configs/model/{family}.yaml.j2"


def template_keys(family: str) -> set[str]:
    path = TEMPLATES_ROOT / "models" / family / "contract.yaml"
    contract = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    assert "template_keys" in contract, f"{_short(path)} must declare template_keys (maybe [])"
    return set(contract["template_keys"])


def _data_key(value: Any) -> str | None:
    match = _DATA_KEY.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _literal_keys(case: Case) -> set[str]:
    return {k for k, v in case.model.items() if k not in SKELETON_KEYS and _data_key(v) is None}


def _pydantic_fields(family: str) -> set[str]:
    return set(catalog.family(family).hparams_model.model_fields) - {"family"}


# Tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_every_templated_task_has_a_combination(family: ArchitectureFamily) -> None:
    served = {task for task, _ in combinations(family.key)}
    for task in family.tasks:
        if template_folder("tasks", task) is not None:
            assert task in served, (
                f"{family.key}: no catalog dataset of task {task!r} gives a valid Spec with any "
                "variant, so its model configs are never checked; add a dataset or a variant"
            )


@pytest.mark.parametrize(("family", "task", "modality"), list(_case_params()))
def test_debug_preset_has_the_model_config_keys(family: str, task: str, modality: str) -> None:
    for case in cases(family, task, modality):
        model_keys = set(case.model)
        debug = dict(case.debug)
        if "defaults" in debug:
            # An override of the main option: it may only change keys the main one has.
            assert debug.pop("defaults") == [
                family,
                "_self_",
            ], f"{case.label}: {case.debug_origin} must have defaults [{family}, _self_]"
            extra = set(debug) - model_keys
            assert not extra, (
                f"{case.label}: {case.debug_origin} sets {sorted(extra)}, which "
                f"{_model_file(family)} does not have"
            )
        else:
            debug_keys = set(debug)
            assert debug_keys == model_keys, (
                f"{case.label}: {case.debug_origin} lacks {sorted(model_keys - debug_keys)} "
                f"and adds {sorted(debug_keys - model_keys)} compared with {_model_file(family)}"
            )


@pytest.mark.parametrize(("family", "task", "modality"), list(_case_params()))
def test_model_config_keys_are_dataclass_fields(family: str, task: str, modality: str) -> None:
    for case in cases(family, task, modality):
        assert (
            case.model.get("name") == family
        ), f"{case.label}: {_model_file(family)} must have name: {family} (the registry key)"
        unknown = set(case.model) - set(SKELETON_KEYS) - set(case.dataclass_fields)
        assert not unknown, (
            f"{case.label}: {_model_file(family)} has keys {sorted(unknown)} that are not "
            f"fields of {case.dataclass_name} in {case.dataclass_origin}"
        )


@pytest.mark.parametrize(("family", "task", "modality"), list(_case_params()))
def test_skeleton_keys_are_in_every_model_config(family: str, task: str, modality: str) -> None:
    for case in cases(family, task, modality):
        # The name is checked against the registry above; pretrained weights are opt-in.
        assert case.model.get("pretrained", "missing") is None, (
            f"{case.label}: {_model_file(family)} must have pretrained: null (read by the "
            "skeleton's build_model for every family, overridden on the command line)"
        )
        assert SKELETON_KEYS.isdisjoint(case.dataclass_fields), (
            f"{case.label}: {case.dataclass_name} must not have fields {sorted(SKELETON_KEYS)}: "
            "build_model reads them, the builder never sees them"
        )


@pytest.mark.parametrize(("family", "task", "modality"), list(_case_params()))
def test_literal_keys_carry_the_spec_values(family: str, task: str, modality: str) -> None:
    declared = template_keys(family)
    for case in cases(family, task, modality):
        values = case.spec.model.model_dump(mode="json")
        for key in sorted(_literal_keys(case) - declared):
            assert key in values, (
                f"{case.label}: {_model_file(family)} key {key!r} is neither a field of "
                f"{catalog.family(family).hparams_model.__name__} nor in template_keys of "
                f"models/{family}/contract.yaml"
            )
            assert case.model[key] == values[key], (
                f"{case.label}: {_model_file(family)} sets {key}: {case.model[key]!r}, but the "
                f"Spec has {values[key]!r}"
            )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_every_dataclass_field_is_configured(family: ArchitectureFamily) -> None:
    all_cases = cases(family.key)
    fields = {case.dataclass_fields for case in all_cases}
    assert len(fields) == 1, f"{family.key}: the config dataclass differs between combinations"
    used = set().union(*(case.model for case in all_cases))
    unused = set(fields.pop()) - used
    assert not unused, (
        f"{family.key}: fields {sorted(unused)} of {all_cases[0].dataclass_name} "
        f"({all_cases[0].dataclass_origin}) are set by {_model_file(family.key)} in no "
        f"combination ({', '.join(f'{t}/{m}' for t, m in combinations(family.key))})"
    )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_template_keys_are_not_hyperparameters(family: ArchitectureFamily) -> None:
    declared = template_keys(family.key)
    both = declared & _pydantic_fields(family.key)
    assert not both, (
        f"{family.key}: {sorted(both)} are in template_keys of models/{family.key}/contract.yaml "
        f"and fields of {family.hparams_model.__name__}; a key has one source"
    )
    used = set().union(*(_literal_keys(case) for case in cases(family.key)))
    stale = declared - used
    assert not stale, (
        f"{family.key}: template_keys {sorted(stale)} of models/{family.key}/contract.yaml "
        f"are literal keys of {_model_file(family.key)} in no combination"
    )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_every_hyperparameter_reaches_the_model_config(family: ArchitectureFamily) -> None:
    all_cases = cases(family.key)
    literal = set().union(*(_literal_keys(case) for case in all_cases)) - template_keys(family.key)
    fields = _pydantic_fields(family.key)
    hparams = family.hparams_model.__name__
    extra = literal - fields
    assert not extra, (
        f"{family.key}: {_model_file(family.key)} has keys {sorted(extra)} that are neither "
        f"fields of {hparams} nor template_keys of models/{family.key}/contract.yaml"
    )
    for name in sorted(fields - literal):
        via_data = [case for case in all_cases if _data_key(case.model.get(name)) is not None]
        assert via_data, (
            f"{family.key}: field {name!r} of {hparams} is a key of {_model_file(family.key)} "
            f"in no combination ({', '.join(f'{t}/{m}' for t, m in combinations(family.key))})"
        )
        for case in via_data:
            _assert_pinned_to_data(case, name)


def _assert_pinned_to_data(case: Case, name: str) -> None:
    """The Spec's ``name`` may only repeat the data fact the model config interpolates."""
    data_key = _data_key(case.model[name])
    assert data_key is not None
    value = case.data.get(data_key)
    where = f"{case.label}: {_model_file(case.family)} takes {name} from ${{data.{data_key}}}"
    assert isinstance(value, int) and not isinstance(
        value, bool
    ), f"{where}; the data config gives {value!r}, and only integer facts can be checked"
    document = case.spec.to_dict()
    for candidate, accepted in ((value, True), (value + 1, False)):
        document["model"] = {**document["model"], name: candidate}
        try:
            Spec.model_validate(document)
        except ValidationError:
            valid = False
        else:
            valid = True
        assert valid == accepted, (
            f"{where}, so the Spec's {name} is ignored: {name}={candidate} "
            f"{'is rejected' if accepted else 'is accepted'} with the data's {value}; pin it "
            f"in {type(case.spec.model).__name__}.check_dataset or render it from the Spec"
        )
