"""The request corpus: every entry of examples/requests/*.yaml through the offline analyzer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlgen import errors
from dlgen.agent.offline import analyze_offline

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "requests"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _entries(bad: bool) -> list[Any]:
    params = []
    for path in sorted(CORPUS.glob("*.yaml")):
        if (path.stem == "bad") != bad:
            continue
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(entry, id=entry["id"]))
    return params


GOOD = _entries(bad=False)
BAD = _entries(bad=True)


def resolve_path(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the Spec's dictionary."""
    value: Any = data
    for part in path.split("."):
        assert isinstance(value, dict) and part in value, f"no field {path!r} in the Spec"
        value = value[part]
    return value


def test_corpus_is_large_and_covers_every_family() -> None:
    from dlgen import catalog

    assert len(GOOD) >= 90
    assert len(BAD) >= 12
    named = {entry.values[0]["expect"].get("model.family") for entry in GOOD}
    families = {f.key for f in catalog.all_families()}
    assert families <= named, f"no corpus entry expects families {families - named}"
    assert families <= {p.stem for p in CORPUS.glob("*.yaml")}, "one corpus file per family"
    languages = {entry.values[0]["expect"].get("language") for entry in GOOD}
    assert {"zh", "en"} <= languages


def test_ids_are_unique() -> None:
    ids = [entry.id for entry in GOOD + BAD]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry", GOOD)
def test_request(entry: dict[str, Any]) -> None:
    analysis = analyze_offline(entry["request"])
    data = analysis.spec.to_dict()
    mismatches = {
        path: (resolve_path(data, path), expected)
        for path, expected in entry["expect"].items()
        if resolve_path(data, path) != expected
    }
    assert not mismatches, f"(got, expected) by path: {mismatches}"
    for path, expected in entry.get("explicit", {}).items():
        assert analysis.explicit.get(path) == expected, f"explicit[{path!r}]"
    spec = analysis.spec
    assert spec.assumptions, "every request leaves something to assume"
    for sentence in spec.assumptions:
        has_cjk = bool(_CJK.search(sentence))
        assert has_cjk == (spec.language == "zh"), f"assumption in the wrong language: {sentence}"


@pytest.mark.parametrize("entry", BAD)
def test_bad_request(entry: dict[str, Any]) -> None:
    error_type = getattr(errors, entry["error"])
    with pytest.raises(error_type) as caught:
        analyze_offline(entry["request"])
    assert entry["error_contains"] in str(caught.value)
