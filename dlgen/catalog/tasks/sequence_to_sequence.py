"""Sequence to sequence: translation and summarization."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="sequence_to_sequence",
    names=Names("sequence-to-sequence", "序列到序列"),
    signals=(
        Signal(
            r"机器翻译|翻译|translat\w*|seq2seq|序列到序列|sequence[\s-]*to[\s-]*sequence|摘要生成"
            r"|summariz\w*",
            order=90,
        ),
    ),
    modalities=(Modality.TEXT,),
    default_datasets={Modality.TEXT: "multi30k"},
    default_family="seq2seq",
    requires=("vocab_size",),
    monitor="bleu",
    monitor_mode="max",
    metrics=("bleu", "loss"),
    output_shape=lambda data: (data.input_shape[0], data.vocab_size or 1),
    description="a target sequence from a source sequence; (L,) -> (L, vocab_size) logits",
)
