"""Interactive clarification: ask about essentials the analysis had to assume.

The essentials are the dataset, the task and the input shape. One counts as
assumed when the analyzer did not read it from the request (its path is missing
from ``Analysis.explicit``) and nothing the request did state implies it (a named
dataset implies its task and shape; a single-task family implies its task). At most
three short questions are asked, in the user's language, each with the current
value as its default; :func:`apply_answers` appends the answers to the request so
that it can be analyzed again. A default that follows from another assumption (the
input shape of the assumed dataset) is dropped when that assumption was changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dlgen import catalog
from dlgen.agent.analysis import Analysis
from dlgen.i18n import pick

MAX_QUESTIONS = 3
MAX_ANSWER_CHARS = 200
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    """One clarifying question.

    Attributes:
        key: The essential asked about: "dataset", "task" or "input_shape".
        text: The question, in the user's language.
        default: The value the analysis assumed, offered as the answer.
        language: "zh" or "en", for the answer line.
    """

    key: str
    text: str
    default: str
    language: str = "en"


@dataclass(frozen=True)
class _Essential:
    key: str
    assumed: Callable[[Analysis], bool]
    question: Callable[[Analysis], tuple[str, str]]  # (text, default)
    answer: Callable[[str, str], str]  # (language, answer) -> line for the request
    follows: str | None = None  # the essential this one's default derives from


def _is_catalog_dataset(name: str) -> bool:
    try:
        return not catalog.dataset(name).key.startswith("custom")
    except KeyError:
        return False


def _dataset_assumed(analysis: Analysis) -> bool:
    return "dataset.name" not in analysis.explicit


def _task_assumed(analysis: Analysis) -> bool:
    explicit = analysis.explicit
    if "task" in explicit or "dataset.name" in explicit:
        return False
    return len(analysis.spec.family.tasks) > 1


def _shape_assumed(analysis: Analysis) -> bool:
    if "dataset.input_shape" in analysis.explicit:
        return False
    named = "dataset.name" in analysis.explicit
    return not (named and _is_catalog_dataset(analysis.spec.dataset.name))


def _dataset_question(analysis: Analysis) -> tuple[str, str]:
    lang = analysis.spec.language
    text = pick(
        lang,
        "Which dataset? (e.g. cifar10, imagenet, or your own image folder)",
        "使用哪个数据集？（如 cifar10、imagenet，或自己的图片文件夹）",
    )
    return text, analysis.spec.dataset.name


def _task_question(analysis: Analysis) -> tuple[str, str]:
    lang = analysis.spec.language
    tasks = ", ".join(analysis.spec.family.tasks)
    text = pick(lang, f"Which task? ({tasks})", f"做什么任务？（{tasks}）")
    return text, analysis.spec.task


def _shape_question(analysis: Analysis) -> tuple[str, str]:
    lang = analysis.spec.language
    text = pick(
        lang,
        "Input shape of one sample, channels first (e.g. 3x224x224)?",
        "单个样本的输入形状（通道在前，如 3x224x224）？",
    )
    return text, "x".join(str(size) for size in analysis.spec.dataset.input_shape)


ESSENTIALS: tuple[_Essential, ...] = (
    _Essential(
        "dataset",
        _dataset_assumed,
        _dataset_question,
        lambda lang, a: pick(lang, f"Dataset: {a}.", f"数据集：{a}。"),
    ),
    _Essential(
        "task",
        _task_assumed,
        _task_question,
        lambda lang, a: pick(
            lang, f"Task: {a.replace('_', ' ')}.", f"任务：{a.replace('_', ' ')}。"
        ),
    ),
    _Essential(
        "input_shape",
        _shape_assumed,
        _shape_question,
        lambda lang, a: pick(lang, f"Input shape: {a}.", f"输入形状：{a}。"),
        follows="dataset",
    ),
)
_BY_KEY = {essential.key: essential for essential in ESSENTIALS}


def clarifying_questions(analysis: Analysis) -> list[Question]:
    """Up to three questions about the essentials the analysis assumed.

    Args:
        analysis: The analysis of the request (its ``explicit`` map says what was read).

    Returns:
        The questions, in the user's language; empty when nothing essential was assumed.
    """
    language = analysis.spec.language
    questions = []
    for essential in ESSENTIALS:
        if essential.assumed(analysis):
            text, default = essential.question(analysis)
            questions.append(Question(essential.key, text, default, language))
    return questions[:MAX_QUESTIONS]


def _clean(answer: str | None) -> str:
    return _WHITESPACE.sub(" ", answer or "").strip()[:MAX_ANSWER_CHARS]


def apply_answers(
    request: str,
    questions: Sequence[Question],
    answers: Sequence[str | None] | Mapping[str, str | None],
) -> str:
    """The request with one line per answered question appended.

    Args:
        request: The original request.
        questions: The questions asked.
        answers: One answer per question (in order, or by ``Question.key``); an empty
            or missing answer takes the question's default, except that a default
            deriving from a changed answer (the shape of a replaced dataset) is dropped.

    Returns:
        The augmented request, to analyze again.
    """
    lines, changed = [], set()
    for index, question in enumerate(questions):
        if isinstance(answers, Mapping):
            given = _clean(answers.get(question.key))
        else:
            given = _clean(answers[index]) if index < len(answers) else ""
        if given and given != question.default:
            changed.add(question.key)
        essential = _BY_KEY[question.key]
        if given in ("", question.default) and essential.follows in changed:
            continue  # the default belonged to the assumption the user replaced
        lines.append(essential.answer(question.language, given or question.default))
    if not lines:
        return request
    return request.rstrip() + "\n" + "\n".join(lines)
