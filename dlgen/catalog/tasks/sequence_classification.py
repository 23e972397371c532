"""Sequence classification: one label per text, signal window or series."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.catalog.tasks import CLASSIFY
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="sequence_classification",
    names=Names("sequence classification", "序列分类"),
    signals=(
        Signal(
            r"时间序列分类|time[\s-]*series\s*classification|心电分类|ecg\s*classification"
            r"|信号分类|signal\s*classification|序列分类|sequence\s*classification",
            order=20,
        ),
        Signal(
            r"情感分类|情感分析|sentiment|文本分类|text\s*classification|新闻分类|评论分类"
            r"|classify\s*(?:the\s*)?(?:text|reviews|sentences|news)",
            order=30,
        ),
        Signal(CLASSIFY, order=901),
    ),
    modalities=(Modality.TEXT, Modality.SIGNAL),
    default_datasets={Modality.TEXT: "imdb", Modality.SIGNAL: "ptb_xl"},
    default_family="rnn",
    requires=("num_classes",),
    monitor="accuracy",
    monitor_mode="max",
    metrics=("accuracy", "macro_f1", "loss"),
    output_shape=lambda data: (data.num_classes or 1,),
    inference_examples={
        Modality.TEXT: (
            '"a moving, wonderful film"',
            "path/to/reviews/ --top-k 2 --output predictions.csv",
        ),
        Modality.SIGNAL: (
            "path/to/signal.npy",
            "path/to/signals/ --top-k 2 --output predictions.csv",
        ),
    },
    description="one class label per sequence; tokens (L,) or signals (C, L) -> (num_classes,)",
)
