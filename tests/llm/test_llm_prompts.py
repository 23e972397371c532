"""Prompt files: versioned, loaded as package resources, the catalog rendered in."""

from __future__ import annotations

import jinja2
import pytest

from dlgen import catalog, prompts


def test_every_prompt_has_a_version() -> None:
    versions = prompts.versions()
    assert set(versions) == set(prompts.PROMPT_NAMES)
    assert all(isinstance(v, int) and v >= 1 for v in versions.values())
    with pytest.raises(KeyError, match="known"):
        prompts.load("nope")


def test_system_prompt_lists_the_whole_catalog() -> None:
    text = prompts.render("analyze_system", schema=None, **prompts.catalog_context())
    assert "{#" not in text and "version" not in text.splitlines()[0]
    for family in catalog.all_families():
        assert f"- {family.key}: {family.names.en}" in text
        for variant in family.variants:
            assert f"variant {variant.key} (" in text
        assert ("[no templates yet]" in text.split(f"- {family.key}:")[1].splitlines()[0]) is (
            family.template is None
        )
        for dataset_key, variant_key in family.dataset_variants.items():
            assert f"{dataset_key}={variant_key}" in text
    for entry in catalog.all_datasets():
        assert f"- {entry.key}: {entry.names.en}" in text
    for task in catalog.all_tasks():
        assert f"- {task.key}: {task.names.en} / {task.names.zh}" in text
        assert f"default {task.default_family}, {task.default_dataset};" in text
    assert "JSON schema" not in text  # only sent inline in json_object mode
    assert "language of the request" in text and "every value you chose" in text


def test_request_is_rendered_verbatim_and_strict_undefined_holds() -> None:
    request = "实现ViT用于ImageNet {{ not a template }}"
    text = prompts.render("analyze_request", request=request)
    assert request in text
    with pytest.raises(jinja2.UndefinedError):
        prompts.render("reask", attempt=1, max_attempts=3)
    reask = prompts.render("reask", attempt=1, max_attempts=3, errors="  - model.x: bad")
    assert "attempt 1 of 3" in reask and "model.x: bad" in reask
