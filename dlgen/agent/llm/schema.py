"""The LLM-facing JSON schema, derived from the Spec's own schema by a program.

Strict structured output (OpenAI ``strict: true``, Anthropic structured outputs)
accepts a subset of JSON Schema: every object closed and fully ``required``, no
``oneOf``/``discriminator``, no ``default``/``prefixItems``, no ``$ref`` with
siblings, no open dictionaries. :func:`llm_schema` rewrites
``Spec.model_json_schema()`` into that subset; nothing is written by hand, so a new
family or field reaches the model without edits here. What it changes:

- ``oneOf`` + ``discriminator`` (the family union) become ``anyOf``; ``const`` becomes
  a one-value ``enum``; ``prefixItems`` becomes ``items``.
- Every property is required; a default moves into the description
  ("dlgen default: ...") so the model can choose it and must list it as an assumption.
- Keywords outside the subset move into the description as text.
- Open dictionaries (``dataset.splits``) and the fields dlgen sets itself
  (``schema_version``, ``request``, ``language``) are left out; :func:`complete_reply`
  fills them.
- The project name gets the pattern its validator enforces.

The reply is validated with the real :class:`~dlgen.spec.Spec`, never with this schema.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from dlgen import catalog
from dlgen.i18n import detect_language
from dlgen.spec import PROJECT_NAME_PATTERN, Spec

DLGEN_OWNED_FIELDS: tuple[str, ...] = ("schema_version", "request", "language")
SCHEMA_NAME = "dlgen_spec"

_KEPT = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "anyOf",
    "$ref",
    "description",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "pattern",
    "format",
}
_DROPPED = {"title", "discriminator", "default", "const", "oneOf", "prefixItems", "$defs"}


def _is_open_dict(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict)


def _describe(node: dict[str, Any], extra: list[str]) -> str | None:
    parts = [node["description"]] if node.get("description") else []
    parts.extend(extra)
    return "\n".join(parts) if parts else None


def _strict_object(node: dict[str, Any], out: dict[str, Any]) -> None:
    required = set(node.get("required", []))
    properties: dict[str, Any] = {}
    for key, child in node.get("properties", {}).items():
        if _is_open_dict(child) and key not in required:
            continue  # not expressible in strict mode; the Spec default applies
        properties[key] = _strict(child)
    out["properties"] = properties
    out["required"] = list(properties)
    out["additionalProperties"] = False


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    """One schema node rewritten into the strict subset (see the module docstring)."""
    if "$ref" in node:
        return {"$ref": node["$ref"]}
    out: dict[str, Any] = {}
    extra: list[str] = []
    if "default" in node:
        extra.append(f"dlgen default: {json.dumps(node['default'], ensure_ascii=False)}")
    if "const" in node:
        out["enum"] = [node["const"]]
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        out["anyOf"] = [_strict(alt) for alt in alternatives]
    if "prefixItems" in node:
        items = [_strict(item) for item in node["prefixItems"]]
        out["items"] = items[0] if all(item == items[0] for item in items) else {"anyOf": items}
    for key, value in node.items():
        if key in _KEPT and key not in ("properties", "required", "additionalProperties", "anyOf"):
            out[key] = _strict(value) if key == "items" else copy.deepcopy(value)
        elif key not in _KEPT and key not in _DROPPED:
            extra.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    if node.get("type") == "object":
        _strict_object(node, out)
    description = _describe(node, extra)
    if description:
        out["description"] = description
    return out


def derive_strict_schema(source: dict[str, Any], omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """Rewrite a pydantic JSON schema into the strict subset (see the module docstring).

    Args:
        source: ``Model.model_json_schema()`` of an object model.
        omit: Top-level properties to leave out.

    Returns:
        A new schema; ``source`` is not modified.
    """
    schema = _strict(source)
    for name in omit:
        schema["properties"].pop(name, None)
    schema["required"] = list(schema["properties"])
    defs = {key: _strict(value) for key, value in source.get("$defs", {}).items()}
    if defs:
        schema["$defs"] = defs
    return schema


@cache
def _llm_schema_text() -> str:
    schema = derive_strict_schema(Spec.model_json_schema(), omit=DLGEN_OWNED_FIELDS)
    schema["properties"]["name"]["pattern"] = PROJECT_NAME_PATTERN.pattern
    return json.dumps(schema, ensure_ascii=False)


def llm_schema() -> dict[str, Any]:
    """The strict JSON schema the model fills (a fresh copy each call)."""
    return json.loads(_llm_schema_text())  # type: ignore[no-any-return]


def complete_reply(data: Any, request: str) -> Any:
    """Add what the LLM schema leaves out to a decoded reply, before validation.

    Sets ``request`` to the user's text (the model never copies it), ``language`` to
    the request's language (as the offline analyzer detects it), drops a
    ``schema_version`` the model should not have sent, and fills ``dataset.splits``
    from the catalog when the dataset is a catalog entry. Anything that is not a
    mapping is returned unchanged, for the Spec to reject with a clear error.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    data.pop("schema_version", None)
    data["request"] = request
    data["language"] = detect_language(request)
    dataset = data.get("dataset")
    if isinstance(dataset, dict) and "splits" not in dataset:
        known = {entry.key: entry for entry in catalog.all_datasets()}
        entry = known.get(str(dataset.get("name")))
        if entry is not None and entry.splits:
            data["dataset"] = {**dataset, "splits": dict(entry.splits)}
    return data
