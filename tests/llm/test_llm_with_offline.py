"""The LLM path together with the real offline analyzer."""

from __future__ import annotations

import pytest

from dlgen.agent.clarify import apply_answers, clarifying_questions
from dlgen.agent.llm import analyze_with_backend
from dlgen.agent.offline import analyze_offline
from tests.llm.llm_fakes import (
    REQUEST,
    FakeLLMServer,
    as_text,
    llm_content,
    openai_reply,
    reply_for,
)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_literal_values_survive_an_llm_that_changed_them(llm_env: FakeLLMServer, api: str) -> None:
    offline = analyze_offline(REQUEST)
    assert offline.explicit["training.batch_size"] == 128
    changed = llm_content(training__batch_size=512, model__num_layers=12)
    llm_env.script(api, reply_for(api, as_text(changed)))
    analysis = analyze_with_backend(REQUEST, api)
    assert analysis.backend == api
    assert analysis.spec.training.batch_size == 128 and analysis.spec.model.num_layers == 6
    assert analysis.explicit == offline.explicit
    notes = [a for a in analysis.spec.assumptions if "offline analyzer" in a]
    assert len(notes) == 2 and all("value written in the request" in n for n in notes)


def test_agreeing_readings_add_no_notes(llm_env: FakeLLMServer) -> None:
    llm_env.script("openai", openai_reply(as_text(llm_content())))
    analysis = analyze_with_backend(REQUEST, "openai")
    assert not any("offline analyzer" in a for a in analysis.spec.assumptions)
    assert analysis.spec.assumptions == ["No epochs given; using 100."]


def test_clarification_with_the_offline_analyzer() -> None:
    vague = analyze_offline("帮我写一个ViT")
    questions = clarifying_questions(vague)
    assert [q.key for q in questions] == ["dataset", "input_shape"]
    assert questions[0].text.startswith("使用哪个数据集")
    augmented = apply_answers("帮我写一个ViT", questions, ["cifar10", "3x224x224"])
    again = analyze_offline(augmented)
    assert again.spec.dataset.name == "cifar10" and clarifying_questions(again) == []
    assert clarifying_questions(analyze_offline("实现ViT用于ImageNet")) == []
