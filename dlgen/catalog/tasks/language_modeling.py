"""Language modeling: the next token at every position."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="language_modeling",
    names=Names("language modeling", "语言建模"),
    signals=(
        Signal(
            r"语言模型|语言建模|language\s*model\w*|\blm\b|next[\s-]*(?:token|character|word)"
            r"|文本生成|text\s*generation|生成文本|generate\s*text|写诗|续写",
            order=80,
        ),
    ),
    modalities=(Modality.TEXT,),
    default_datasets={Modality.TEXT: "tiny_shakespeare"},
    default_family="gpt",
    requires=("vocab_size",),
    monitor="loss",
    monitor_mode="min",
    metrics=("loss", "perplexity", "bits_per_char"),
    output_shape=lambda data: (data.input_shape[0], data.vocab_size or 1),
    inference_examples={
        Modality.TEXT: ('"ROMEO:"', '"LEONTES:" "HERMIONE:" --top-k 5 --output samples.json')
    },
    description="the next token at every position; (L,) tokens -> (L, vocab_size) logits",
)
