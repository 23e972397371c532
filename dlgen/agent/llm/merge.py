"""Merge an LLM analysis with the offline analyzer's reading of the same request.

The offline analyzer records in ``Analysis.explicit`` the values it read literally
(dotted Spec path -> value). Where the LLM's Spec holds another value at such a
path, the value that appears literally in the request text wins: the offline one
when only it appears, the LLM's when only the LLM's appears or when both or
neither do (the LLM read the sentence as a whole). Every conflict is recorded in
``spec.assumptions`` in the user's language. When the offline value wins at a
*root* path (the family, the variant, the dataset), the block that depends on it
(the whole ``model`` or ``dataset``, with ``task`` and ``modality``) comes from the
offline Spec too, so hyperparameters never mix two variants.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from dlgen import catalog
from dlgen.agent.analysis import Analysis
from dlgen.agent.llm.base import log
from dlgen.i18n import pick
from dlgen.spec import Spec

# Root path -> the top-level blocks taken from the offline Spec when its value wins.
ROOTS: dict[str, tuple[str, ...]] = {
    "model.family": ("model", "task", "modality"),
    "model.variant": ("model",),
    "dataset.name": ("dataset", "task", "modality"),
}
_NUMBER = re.compile(r"(?<![0-9.])(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SEPARATORS = re.compile(r"[\s\-_/]+")
_MISSING = object()


@dataclass(frozen=True)
class Conflict:
    """One path where the two analyzers read different values."""

    path: str
    llm_value: Any
    offline_value: Any
    kept: Any


def _norm(text: str) -> str:
    return _SEPARATORS.sub("", text.lower())


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (``1e-3``, ``0.001``, ``224``, the 16 of ``B/16``)."""
    return [float(token) for token in _NUMBER.findall(text)]


def _aliases(path: str, value: str, family: str | None) -> list[str]:
    """The spellings of a catalog key at ``path`` (the key itself included)."""
    names: list[str] = [value]
    try:
        if path == "dataset.name":
            entry = catalog.dataset(value)
            names += [entry.names.en, entry.names.zh, *entry.names.aliases]
        elif path == "model.family":
            fam = catalog.family(value)
            names += [fam.names.en, fam.names.zh, *fam.names.aliases]
        elif path == "model.variant" and family:
            variant = catalog.family(family).variant(value)
            names += [variant.names.en, variant.names.zh, *variant.names.aliases]
    except KeyError:
        pass
    return names


def appears_literally(value: Any, request: str, path: str = "", family: str | None = None) -> bool:
    """Whether ``value`` is written in ``request`` (numbers by value, names by alias).

    Booleans never count (they are inferred, not written). A shape counts when all
    its sizes appear, or all but the leading channel count.
    """
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return any(math.isclose(value, n, rel_tol=1e-9) for n in numbers_in(request))
    if isinstance(value, str):
        text = _norm(request)
        return any(_norm(name) and _norm(name) in text for name in _aliases(path, value, family))
    if isinstance(value, (list, tuple)) and value:
        sizes = [appears_literally(v, request) for v in value]
        return all(sizes) or (len(sizes) > 1 and all(sizes[1:]))
    return False


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or a sentinel when absent."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path whose parents exist."""
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, (int, str)) else value


def _conflict_note(conflict: Conflict, language: str, literal: bool) -> str:
    c = conflict
    if literal:
        return pick(
            language,
            f"The request states {c.path}: the LLM read {c.llm_value!r}, the offline analyzer "
            f"{c.offline_value!r}; kept {c.kept!r}, the value written in the request.",
            f"需求中明确给出了 {c.path}：LLM 解析为 {c.llm_value!r}，离线分析器解析为 "
            f"{c.offline_value!r}；采用需求原文中的 {c.kept!r}。",
        )
    return pick(
        language,
        f"The LLM and the offline analyzer read {c.path} differently ({c.llm_value!r} vs "
        f"{c.offline_value!r}); kept the LLM's {c.kept!r}. Check it.",
        f"LLM 与离线分析器对 {c.path} 的解析不同（{c.llm_value!r} 与 {c.offline_value!r}），"
        f"采用 LLM 的 {c.kept!r}，请确认。",
    )


def _resolve(
    path: str, llm_value: Any, off_value: Any, request: str, families: tuple[str | None, str | None]
) -> tuple[bool, bool]:
    """Whether to keep the offline value, and whether the choice rests on the request text."""
    llm_literal = appears_literally(llm_value, request, path, families[0])
    off_literal = appears_literally(off_value, request, path, families[1])
    return off_literal and not llm_literal, llm_literal != off_literal


def merge(request: str, llm: Analysis, offline: Analysis | None) -> Analysis:
    """The LLM analysis with literal values restored from the offline one.

    Args:
        request: The request text both analyzers read.
        llm: The LLM backend's analysis.
        offline: The offline analysis, or None when it failed.

    Returns:
        A new Analysis from the LLM backend, with ``explicit`` from the offline
        analyzer (updated to the kept values) and the conflicts in ``assumptions``.
    """
    if offline is None:
        return llm
    data, off_data = llm.spec.to_dict(), offline.spec.to_dict()
    families = (llm.spec.family.key, offline.spec.family.key)
    explicit, notes = dict(offline.explicit), []
    ordered = sorted(offline.explicit, key=lambda p: (p not in ROOTS, p))
    for path in ordered:
        llm_value = get_path(data, path)
        off_value = _plain(offline.explicit[path])
        if llm_value is _MISSING or _same(llm_value, off_value):
            continue
        use_offline, literal = _resolve(path, llm_value, off_value, request, families)
        if use_offline:
            for block in ROOTS.get(path, ()):
                data[block] = off_data[block]
            set_path(data, path, off_value)
        kept = off_value if use_offline else llm_value
        explicit[path] = kept
        notes.append(
            _conflict_note(Conflict(path, llm_value, off_value, kept), llm.spec.language, literal)
        )
    if not notes:
        return Analysis(llm.spec, llm.backend, explicit, list(llm.notes), llm.usage)
    data["assumptions"] = [*data.get("assumptions", []), *notes]
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        log.debug("merged Spec does not validate; keeping the LLM's: %s", exc)
        unresolved = pick(
            llm.spec.language,
            "The LLM and the offline analyzer disagree on values written in the request and "
            "their readings cannot be combined; kept the LLM's reading. Check the Spec.",
            "LLM 与离线分析器对需求中的数值解析不一致且无法合并，已保留 LLM 的解析，请检查 Spec。",
        )
        spec = llm.spec.model_copy(update={"assumptions": [*llm.spec.assumptions, unresolved]})
        return Analysis(spec, llm.backend, dict(offline.explicit), list(llm.notes), llm.usage)
    return Analysis(spec, llm.backend, explicit, list(llm.notes), llm.usage)
