"""The LLM-facing schema: derived from the Spec, inside the strict subset, faithful to it."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from dlgen import catalog
from dlgen.agent.llm.base import Reply
from dlgen.agent.llm.loop import ReplyInvalid, parse_reply
from dlgen.agent.llm.schema import DLGEN_OWNED_FIELDS, derive_strict_schema, llm_schema
from dlgen.spec import PROJECT_NAME_PATTERN, Spec

FORBIDDEN = {"oneOf", "discriminator", "default", "const", "prefixItems", "title"}


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every schema node under ``node`` (itself included), depth first."""
    found = [node]
    for key, value in node.items():
        if key in ("properties", "$defs"):
            children = list(value.values())
        elif key == "anyOf":
            children = list(value)
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            children = [value]
        else:
            children = []
        for child in children:
            found.extend(_nodes(child))
    return found


def _strict_violations(schema: dict[str, Any]) -> list[str]:
    problems = []
    for node in _nodes(schema):
        if FORBIDDEN & node.keys():
            problems.append(f"forbidden keys {FORBIDDEN & node.keys()} in {node}")
        if "$ref" in node and len(node) > 1:
            problems.append(f"$ref with siblings: {node}")
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                problems.append(f"open object: {node}")
            if set(node.get("required", [])) != set(node.get("properties", {})):
                problems.append(f"not every property required: {node}")
    return problems


def _conforms(data: Any, schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A small structural validator: refs, anyOf, enum, types, closed required objects."""
    if "$ref" in schema:
        return _conforms(data, defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return any(_conforms(data, branch, defs) for branch in schema["anyOf"])
    if "enum" in schema and data not in schema["enum"]:
        return False
    kind = schema.get("type")
    checks = {
        "object": lambda: isinstance(data, dict)
        and set(data) == set(schema["required"])
        and all(_conforms(data[k], schema["properties"][k], defs) for k in data),
        "array": lambda: isinstance(data, list)
        and all(_conforms(item, schema.get("items", {}), defs) for item in data),
        "integer": lambda: isinstance(data, int) and not isinstance(data, bool),
        "number": lambda: isinstance(data, (int, float)) and not isinstance(data, bool),
        "string": lambda: isinstance(data, str),
        "boolean": lambda: isinstance(data, bool),
        "null": lambda: data is None,
    }
    return checks[kind]() if kind else True


def _default_spec(family: catalog.ArchitectureFamily) -> Spec:
    task = family.default_task
    entry = catalog.dataset(family.default_datasets[task])
    variant = family.variant(family.default_variant) if family.default_variant else None
    dataset = {**entry.spec_fields(), **(variant.dataset_overrides if variant else {})}
    model = {
        "family": family.key,
        "variant": family.default_variant,
        **(variant.hparams if variant else {}),
    }
    return Spec.model_validate(
        {
            "name": f"p_{family.key}",
            "task": task,
            "modality": entry.modality,
            "dataset": dataset,
            "model": model,
        }
    )


def _llm_view(spec: Spec) -> dict[str, Any]:
    data = spec.to_dict()
    for name in DLGEN_OWNED_FIELDS:
        data.pop(name)
    data["dataset"].pop("splits")
    return data


def test_schema_is_inside_the_strict_subset() -> None:
    assert _strict_violations(llm_schema()) == []


def test_schema_leaves_out_what_dlgen_sets() -> None:
    schema = llm_schema()
    assert not set(DLGEN_OWNED_FIELDS) & set(schema["properties"])
    assert "splits" not in schema["$defs"]["DatasetSpec"]["properties"]
    assert schema["properties"]["name"]["pattern"] == PROJECT_NAME_PATTERN.pattern
    lr = schema["$defs"]["TrainingSpec"]["properties"]["lr"]
    assert "dlgen default: 0.001" in lr["description"]


def test_model_is_a_union_of_every_family() -> None:
    schema = llm_schema()
    branches = schema["properties"]["model"]["anyOf"]
    refs = {branch["$ref"].split("/")[-1] for branch in branches}
    assert refs == {f.hparams_model.__name__ for f in catalog.all_families()}
    for family in catalog.all_families():
        props = schema["$defs"][family.hparams_model.__name__]["properties"]
        assert props["family"]["enum"] == [family.key]


@pytest.mark.parametrize("family", catalog.all_families(), ids=lambda f: f.key)
def test_every_family_spec_fits_the_schema_and_round_trips(
    family: catalog.ArchitectureFamily,
) -> None:
    spec = _default_spec(family)
    view = _llm_view(spec)
    schema = llm_schema()
    assert _conforms(view, schema, schema["$defs"])
    assert parse_reply(Reply(text=Spec.model_validate(spec).to_json()), "") == spec
    assert parse_reply(Reply(text=json.dumps(view)), spec.request) == spec


def test_derivation_handles_unions_tuples_dicts_and_defaults() -> None:
    class A(BaseModel):
        kind: Literal["a"] = "a"
        size: int = Field(default=3, gt=0)

    class B(BaseModel):
        kind: Literal["b"] = "b"
        pair: tuple[float, float] = (0.9, 0.99)

    class Root(BaseModel):
        part: Annotated[A | B, Field(discriminator="kind")]
        table: dict[str, int] = Field(default_factory=dict)
        note: str | None = Field(default=None, description="free text")
        tags: list[str] = Field(default_factory=list, max_length=3, json_schema_extra={"x": 1})

    source = Root.model_json_schema()
    schema = derive_strict_schema(source)
    assert _strict_violations(schema) == []
    assert schema["properties"]["part"] == {"anyOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}]}
    assert "table" not in schema["properties"]
    assert schema["required"] == ["part", "note", "tags"]
    assert schema["$defs"]["B"]["properties"]["pair"]["items"] == {"type": "number"}
    assert schema["$defs"]["A"]["properties"]["size"]["exclusiveMinimum"] == 0
    assert "dlgen default: 3" in schema["$defs"]["A"]["properties"]["size"]["description"]
    assert "x: 1" in schema["properties"]["tags"]["description"]
    assert "free text" in schema["properties"]["note"]["description"]
    assert source == Root.model_json_schema()  # the source is not modified


def test_a_reply_that_is_not_json_or_not_a_spec_is_explained() -> None:
    with pytest.raises(ReplyInvalid, match="not valid JSON"):
        parse_reply(Reply(text="```json\n{}\n```"), "")
    with pytest.raises(ReplyInvalid, match="valid dictionary"):
        parse_reply(Reply(text="[1, 2]"), "")
    with pytest.raises(ReplyInvalid, match="dataset"):
        parse_reply(Reply(text='{"name": "x", "task": "image_classification"}'), "")
