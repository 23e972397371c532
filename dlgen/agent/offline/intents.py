"""Readers for the task a request asks for ("分割", "forecast", "language model", ...).

Each reading is an intent: a set of candidate tasks (the modality decides among
them, e.g. "classification" of images, text or graph nodes) and a strength. A
strong intent is enforced: a family that does not serve it is an error. A weak
intent ("预测", "predict") only picks among the tasks the family already serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlgen.agent.offline.readers import Parser, Reader, constant, reader
from dlgen.spec.common import Task


@dataclass(frozen=True)
class Intent:
    """The task(s) a keyword points to.

    Attributes:
        tasks: Candidate tasks, most likely first.
        strong: Whether the keyword names the task unambiguously.
    """

    tasks: tuple[Task, ...]
    strong: bool = True


_CLASSIFICATION = Intent(
    (
        Task.IMAGE_CLASSIFICATION,
        Task.SEQUENCE_CLASSIFICATION,
        Task.TABULAR_CLASSIFICATION,
        Task.NODE_CLASSIFICATION,
    )
)


def _intent(*tasks: Task, strong: bool = True) -> Intent:
    return Intent(tuple(tasks), strong)


def _fixed(intent: Intent) -> Parser:
    return constant(intent)


INTENT_READERS: tuple[Reader, ...] = (
    reader(
        "task",
        r"节点分类|node[\s-]*classification|图节点|node[\s-]*level",
        _fixed(_intent(Task.NODE_CLASSIFICATION)),
    ),
    reader(
        "task",
        r"时间序列分类|time[\s-]*series\s*classification|心电分类|ecg\s*classification|信号分类|signal\s*classification",
        _fixed(_intent(Task.SEQUENCE_CLASSIFICATION)),
    ),
    reader(
        "task",
        r"情感分类|情感分析|sentiment|文本分类|text\s*classification|新闻分类|评论分类|classify\s*(?:the\s*)?(?:text|reviews|sentences|news)",
        _fixed(_intent(Task.SEQUENCE_CLASSIFICATION)),
    ),
    reader(
        "task",
        r"图像分类|图片分类|image\s*classification|classify\s*(?:the\s*)?images|图像识别|image\s*recognition",
        _fixed(_intent(Task.IMAGE_CLASSIFICATION)),
    ),
    reader(
        "task", r"表格分类|tabular\s*classification", _fixed(_intent(Task.TABULAR_CLASSIFICATION))
    ),
    reader(
        "task",
        r"语义分割|图像分割|分割|segmentation|segment\b|mask\s*prediction",
        _fixed(_intent(Task.SEMANTIC_SEGMENTATION)),
    ),
    reader(
        "task",
        r"时间序列预测|时序预测|time[\s-]*series\s*forecast\w*|forecast\w*|时间序列|time[\s-]*series|负荷预测|销量预测|多步预测",
        _fixed(_intent(Task.TIME_SERIES_FORECASTING)),
    ),
    reader(
        "task",
        r"语言模型|语言建模|language\s*model\w*|\blm\b|next[\s-]*(?:token|character|word)|文本生成|text\s*generation|生成文本|generate\s*text|写诗|续写",
        _fixed(_intent(Task.LANGUAGE_MODELING)),
    ),
    reader(
        "task",
        r"机器翻译|翻译|translat\w*|seq2seq|序列到序列|摘要生成|summariz\w*",
        _fixed(_intent(Task.SEQUENCE_TO_SEQUENCE)),
    ),
    reader(
        "task",
        r"算子学习|operator\s*learning|偏微分方程|\bpdes?\b|partial\s*differential|求解方程|solve\s*(?:the\s*)?(?:pde|equation)|surrogate|代理模型",
        _fixed(_intent(Task.OPERATOR_LEARNING)),
    ),
    reader(
        "task",
        r"图像生成|生成图像|生成图片|生成手写|image\s*generation|generat\w*\s*(?:new\s*)?(?:images|samples|pictures|digits|faces)|生成模型|generative\s*model|采样生成|去噪生成",
        _fixed(_intent(Task.IMAGE_GENERATION)),
    ),
    reader(
        "task",
        r"重建|重构|reconstruct\w*|去噪|denois\w*|降维|dimensionality\s*reduction|异常检测|anomaly\s*detection|压缩表示",
        _fixed(_intent(Task.RECONSTRUCTION)),
    ),
    reader(
        "task",
        r"回归|regression|房价预测|price\s*prediction",
        _fixed(_intent(Task.TABULAR_REGRESSION)),
    ),
    reader("task", r"分类|classif\w*|识别|recogni\w*|classifier", _fixed(_CLASSIFICATION)),
    reader(
        "task",
        r"预测|predict\w*",
        _fixed(_intent(Task.TIME_SERIES_FORECASTING, Task.TABULAR_REGRESSION, strong=False)),
    ),
)
