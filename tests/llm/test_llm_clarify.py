"""Clarifying questions about assumed essentials, and the augmented request."""

from __future__ import annotations

from dlgen.agent.analysis import Analysis
from dlgen.agent.clarify import Question, apply_answers, clarifying_questions
from tests.llm.llm_fakes import REQUEST, fake_offline_analysis, family_spec


def test_single_task_family_asks_dataset_and_shape_only() -> None:
    analysis = fake_offline_analysis("ViT please")
    questions = clarifying_questions(analysis)
    assert [q.key for q in questions] == ["dataset", "input_shape"]
    assert [q.default for q in questions] == ["cifar10", "3x32x32"]
    assert all(q.text.endswith("?") or q.text.endswith(")") for q in questions)


def test_nothing_to_ask_when_the_dataset_was_named() -> None:
    analysis = fake_offline_analysis(REQUEST, {"dataset.name": "cifar10"})
    assert clarifying_questions(analysis) == []


def test_custom_data_asks_for_the_shape() -> None:
    analysis = fake_offline_analysis(
        "ViT on my own images", {"dataset.name": "custom_folder"}, dataset__name="custom_folder"
    )
    assert [q.key for q in clarifying_questions(analysis)] == ["input_shape"]


def test_multi_task_family_asks_three_questions_in_chinese() -> None:
    spec = family_spec("rnn", language="zh", request="用LSTM")
    questions = clarifying_questions(Analysis(spec=spec))
    assert [q.key for q in questions] == ["dataset", "task", "input_shape"]
    assert questions[0].text.startswith("使用哪个数据集")
    assert questions[1].default == spec.task and "sequence_classification" in questions[1].text
    assert all(q.language == "zh" for q in questions)


def test_apply_answers_appends_answers_or_defaults() -> None:
    questions = [
        Question("dataset", "Which dataset?", "cifar10"),
        Question("input_shape", "Shape?", "3x32x32"),
    ]
    augmented = apply_answers("ViT please", questions, ["  cifar10\n", ""])
    assert augmented == "ViT please\nDataset: cifar10.\nInput shape: 3x32x32."
    custom = apply_answers("ViT please", questions, ["mnist", "1 x 28 x 28"])
    assert custom == "ViT please\nDataset: mnist.\nInput shape: 1 x 28 x 28."
    by_key = apply_answers("ViT please", questions, {"input_shape": "1x28x28"})
    assert by_key.endswith("Dataset: cifar10.\nInput shape: 1x28x28.")
    assert apply_answers("ViT please", [], []) == "ViT please"


def test_a_default_shape_is_dropped_when_the_dataset_changes() -> None:
    questions = [
        Question("dataset", "Which dataset?", "imagenet"),
        Question("input_shape", "Shape?", "3x224x224"),
    ]
    for shape_answer in ("", "3x224x224"):  # Enter, or the CLI echoing the default
        augmented = apply_answers("ViT please", questions, ["mnist", shape_answer])
        assert augmented == "ViT please\nDataset: mnist."
    kept = apply_answers("ViT please", questions, ["imagenet", ""])
    assert kept.endswith("Input shape: 3x224x224.")


def test_apply_answers_in_chinese_and_answers_are_bounded() -> None:
    questions = [Question("task", "做什么任务？", "image_classification", "zh")]
    assert apply_answers("用ViT", questions, [None]).endswith("任务：image classification。")
    long = apply_answers("用ViT", questions, ["x" * 1000])
    assert len(long.splitlines()[-1]) < 220
