"""Tabular classification: one label per row of features."""

from __future__ import annotations

from dlgen.catalog.base import DataFact, Names, Signal, TaskEntry
from dlgen.catalog.tasks import CLASSIFY
from dlgen.spec.common import Modality

# A column name as users write it: letters (any script), digits, '_', '.', '-'.
_NAME = r"(?P<value>[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff.\-]{0,60})"
_QUOTE_OPEN = r"[`'\"“‘]?"
# The target column a request names (read from the request as written, so case is kept):
# "目标列是price", "the target column is price", "a 'label' column". The same facts serve
# tabular regression.
TARGET_COLUMN_FACTS = (
    DataFact(
        rf"(?:目标列|标签列|目标变量|目标字段|预测列|标签字段)(?:名)?\s*(?:是|为|名为|叫做?|[:：=])?\s*"
        rf"{_QUOTE_OPEN}{_NAME}",
        "target",
        None,
    ),
    DataFact(
        r"\b(?:target|label|y)[\s_-]*(?:column|variable|field)\s*(?:[:=]|\bis\b|\bnamed\b|"
        rf"\bcalled\b)\s*{_QUOTE_OPEN}{_NAME}",
        "target",
        None,
    ),
    DataFact(
        r"[`'\"“‘](?P<value>[^`'\"”’\n]{1,60})[`'\"”’]\s*(?:target\s*|label\s*)?(?:column|列)",
        "target",
        None,
    ),
)

TASK = TaskEntry(
    key="tabular_classification",
    names=Names("tabular classification", "表格分类"),
    signals=(
        Signal(r"表格分类|tabular\s*classification", order=50),
        Signal(CLASSIFY, order=902),
    ),
    modalities=(Modality.TABULAR,),
    default_datasets={Modality.TABULAR: "iris"},
    default_family="mlp",
    requires=("num_classes",),
    monitor="accuracy",
    monitor_mode="max",
    metrics=("accuracy", "macro_f1", "roc_auc", "loss"),
    output_shape=lambda data: (data.num_classes or 1,),
    inference_examples={
        Modality.TABULAR: (
            "path/to/rows.csv --output predictions.csv",
            "path/to/tables/ --top-k 2 --output predictions.json",
        )
    },
    data_facts=TARGET_COLUMN_FACTS,
    # Rows live in memory: loader worker processes would only add start-up time.
    training_defaults={"num_workers": 0},
    description="one class label per row; (F,) numeric + (K,) categorical -> (num_classes,) logits",
)
