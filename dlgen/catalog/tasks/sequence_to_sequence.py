"""Sequence to sequence: translation and summarization."""

from __future__ import annotations

from dlgen.catalog.base import DataFact, Names, Signal, TaskEntry
from dlgen.spec.common import Modality

# Languages other than the German and English of Multi30k, in Chinese ("中英", "英译法",
# "中文翻译成英文") and English ("English to French", "Chinese-English").
_OTHER_ZH = "中汉法日韩俄西意葡阿越泰印荷土"
_PAIR_ZH = (
    rf"[{_OTHER_ZH}][{_OTHER_ZH}英德]|[英德][{_OTHER_ZH}]|[{_OTHER_ZH}英德]译[{_OTHER_ZH}]"
    r"|[" + _OTHER_ZH + r"]译[英德]|(?:中文|汉语|法语|法文|日语|日文|韩语|俄语|西班牙语|意大利语"
    r"|葡萄牙语|阿拉伯语|越南语|泰语).{0,6}(?:翻译|译)|(?:翻译|译)成?(?:中文|汉语|法语|日语"
    r"|韩语|俄语|西班牙语)"
)
_LANGUAGE_EN = (
    r"\b(?:chinese|mandarin|french|japanese|korean|russian|spanish|italian|portuguese|arabic"
    r"|vietnamese|thai|hindi|dutch|czech|romanian|turkish|finnish|polish|swedish)\b"
)
_CODE_PAIR = (
    r"\b(?:en|de)\s*(?:-|->|→|2|to)\s*(?:zh|fr|ja|ko|ru|es|it|pt|ar|ro|cs|tr|fi|vi|hi|nl)\b"
    r"|\b(?:zh|fr|ja|ko|ru|es|it|pt|ar|ro|cs|tr|fi|vi|hi|nl)\s*(?:-|->|→|2|to)\s*(?:en|de)\b"
)
_OWN_DATA = (
    r"\b(?:my|our|own|custom)\b.{0,20}\b(?:data(?:set)?|corpus|files?|sentences|pairs)\b"
    r"|自己的|我的|自定义|平行语料|双语语料"
)

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
    inference_examples={
        Modality.TEXT: (
            '"A man is riding a bike."',
            "path/to/sources.txt --beam 4 --output predictions.csv",
        )
    },
    dataset_tasks=("sequence_to_sequence",),
    data_facts=(
        # A language pair Multi30k (German-English) does not have, a summarization request or
        # the user's own corpus: their line-aligned files, not a benchmark. A German-English
        # request keeps the default, Multi30k.
        DataFact(
            rf"{_PAIR_ZH}|{_LANGUAGE_EN}|{_CODE_PAIR}|{_OWN_DATA}|摘要|summari[sz]\w*",
            "dataset",
            "parallel_text",
        ),
    ),
    description="a target sequence from a source sequence; (L,) -> (L, vocab_size) logits",
)
