"""Merging the LLM's Spec with the offline analyzer's literal readings."""

from __future__ import annotations

from typing import Any

import pytest

from dlgen.agent.analysis import Analysis
from dlgen.agent.llm import analyze_with_backend
from dlgen.agent.llm.merge import appears_literally, merge, numbers_in
from tests.llm.llm_fakes import (
    REQUEST,
    FakeLLMServer,
    as_text,
    fake_offline_analysis,
    llm_content,
    openai_reply,
)

S16 = {
    "model__variant": "s16",
    "model__hidden_dim": 384,
    "model__num_heads": 6,
    "model__num_layers": 12,
    "model__patch_size": 16,
}


def _llm(request: str, **changes: Any) -> Analysis:
    analysis = fake_offline_analysis(request, **changes)
    return Analysis(analysis.spec, backend="openai")


def test_numbers_and_names_are_found_literally() -> None:
    text = "ViT-B/16, lr=3e-4, batch 256, 224x224 images, 用ImageNet-1k训练"
    assert {16.0, 0.0003, 256.0, 224.0} <= set(numbers_in(text))
    assert appears_literally(0.0003, text) and appears_literally(256, text)
    assert not appears_literally(128, text) and not appears_literally(True, text)
    assert appears_literally("imagenet", text, "dataset.name")
    assert appears_literally("b16", text, "model.variant", "vit")
    assert not appears_literally("s16", text, "model.variant", "vit")
    assert appears_literally([3, 224, 224], text)  # the channel count may be implied
    assert appears_literally("cifar10", "train on CIFAR 10", "dataset.name")


def test_offline_literal_value_wins_over_a_changed_one() -> None:
    llm = _llm(REQUEST, training__batch_size=256)
    offline = fake_offline_analysis(REQUEST, {"training.batch_size": 128})
    merged = merge(REQUEST, llm, offline)
    assert merged.spec.training.batch_size == 128
    assert merged.backend == "openai" and merged.explicit == {"training.batch_size": 128}
    note = merged.spec.assumptions[-1]
    assert "training.batch_size" in note and "256" in note and "kept 128" in note


def test_llm_literal_value_wins_over_an_offline_misreading() -> None:
    llm = _llm(REQUEST)  # patch_size 4, written in the request
    offline = fake_offline_analysis(REQUEST, {"model.patch_size": 8}, model__patch_size=8)
    merged = merge(REQUEST, llm, offline)
    assert merged.spec.model.patch_size == 4 and merged.explicit["model.patch_size"] == 4
    assert "kept 4, the value written in the request" in merged.spec.assumptions[-1]


def test_a_tie_keeps_the_llm_value_and_asks_to_check() -> None:
    # 192 and 128 both appear in the request; the LLM read the sentence as a whole.
    llm = _llm(REQUEST)
    offline = fake_offline_analysis(
        REQUEST, {"model.hidden_dim": 128}, model__hidden_dim=128, model__num_heads=4
    )
    merged = merge(REQUEST, llm, offline)
    assert merged.spec.model.hidden_dim == 192
    assert "Check it" in merged.spec.assumptions[-1]


def test_a_root_value_brings_its_block() -> None:
    request = "ViT-S/16 on CIFAR-10"
    llm = _llm(
        request,
        model__variant="b16",
        model__hidden_dim=768,
        model__num_heads=12,
        model__num_layers=12,
        model__patch_size=16,
    )
    offline = fake_offline_analysis(request, {"model.variant": "s16"}, **S16)
    merged = merge(request, llm, offline)
    assert merged.spec.model == offline.spec.model  # no b16 widths under an s16 name
    assert merged.spec.model.hidden_dim == 384


def test_conflict_notes_follow_the_users_language() -> None:
    request = "用ViT在CIFAR-10上训练，批大小128"
    llm = _llm(request, training__batch_size=64)
    offline = fake_offline_analysis(request, {"training.batch_size": 128})
    merged = merge(request, llm, offline)
    assert merged.spec.language == "zh" and merged.spec.training.batch_size == 128
    assert "采用需求原文中的 128" in merged.spec.assumptions[-1]


def test_no_offline_or_no_conflict_changes_nothing() -> None:
    llm = _llm(REQUEST)
    assert merge(REQUEST, llm, None) is llm
    offline = fake_offline_analysis(REQUEST, {"model.patch_size": 4, "dataset.name": "cifar10"})
    merged = merge(REQUEST, llm, offline)
    assert merged.spec == llm.spec and merged.explicit == offline.explicit


def test_unmergeable_readings_keep_the_llm_spec() -> None:
    request = "ViT with 5 heads on CIFAR-10"
    llm = _llm(request)  # 3 heads, 192 wide
    offline = fake_offline_analysis(
        request, {"model.num_heads": 5}, model__hidden_dim=320, model__num_heads=5
    )
    merged = merge(request, llm, offline)
    assert merged.spec.model.num_heads == 3
    assert "cannot be combined" in merged.spec.assumptions[-1]


def test_backend_result_is_merged_end_to_end(
    llm_env: FakeLLMServer, offline_stub: dict[str, Any]
) -> None:
    offline_stub["explicit"] = {"training.batch_size": 128, "model.num_layers": 6}
    llm_env.script("openai", openai_reply(as_text(llm_content(training__batch_size=512))))
    analysis = analyze_with_backend(REQUEST, "openai")
    assert analysis.backend == "openai" and analysis.spec.training.batch_size == 128
    assert analysis.explicit == {"training.batch_size": 128, "model.num_layers": 6}
    assert any("training.batch_size" in a for a in analysis.spec.assumptions)


@pytest.mark.parametrize("value", [None, [], {}, "x"])
def test_values_that_cannot_be_literal(value: Any) -> None:
    assert not appears_literally(value, "nothing here", "training.optimizer")
