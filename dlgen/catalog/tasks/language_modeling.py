"""Language modeling: the next token at every position."""

from __future__ import annotations

from dlgen.catalog.base import DataFact, Names, Signal, TaskEntry
from dlgen.spec.common import Modality

# A path segment: letters, digits, "_", "-" and inner dots.
_SEGMENT = r"[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?"
_PREFIX = r"(?:~?/|\.{1,2}/)"
# A .txt file, an explicit relative or absolute folder, a folder with a trailing slash, or
# a folder under data/; the path is read from the request as written (case kept).
_PATH = (
    rf"(?<![A-Za-z0-9_./-])(?P<value>{_PREFIX}?(?:{_SEGMENT}/)*{_SEGMENT}\.txt"
    rf"|{_PREFIX}(?:{_SEGMENT}/)*{_SEGMENT}/?|(?:{_SEGMENT}/)+(?=\s|$)"
    rf"|data/{_SEGMENT}(?:/{_SEGMENT})*/?)(?![A-Za-z0-9_/-])"
)

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
        Modality.TEXT: (
            '"ROMEO:" --top-p 0.9 --temperature 0.8',
            '"LEONTES:" "HERMIONE:" --max-new-tokens 80 --output samples.json',
        )
    },
    data_facts=(
        # The user's own text: a catalog corpus would train on someone else's.
        DataFact(
            r"\b(?:my|our|own|custom)\b.{0,12}\b(?:corpus|corpora|texts?|data(?:set)?|"
            r"books?|documents?|notes)\b|自己的(?:语料|文本|数据)|我的(?:语料|文本|数据)|"
            r"自定义(?:语料|文本)|(?<![A-Za-z0-9_./-])[A-Za-z0-9_.-]+\.txt(?![A-Za-z0-9_])",
            "dataset",
            "custom_text",
        ),
        # A path in the request: the corpus file (data/corpus.txt) or folder (data/books/).
        DataFact(_PATH, "root", None),
        # How text becomes tokens (GPT's tokenizer); GPT-2's own encoding first, so that
        # "GPT-2's BPE tokenizer" is not read as a BPE trained anew.
        DataFact(
            r"gpt-?\s?2\W{0,3}s?\s*(?:bpe|byte[\s-]*pair|tokeni[sz]\w*|encoding|词表|分词)|"
            r"tiktoken|r50k",
            "model.tokenizer",
            "gpt2",
        ),
        DataFact(
            r"\bbpe\b|byte[\s-]*pair|字节对|字节级",
            "model.tokenizer",
            "bpe",
        ),
        DataFact(
            r"char(?:acter)?[\s-]*(?:level|based|tokeni[sz]\w*)|字符级|按字符",
            "model.tokenizer",
            "char",
        ),
        DataFact(
            r"word[\s-]*(?:level|based|tokeni[sz]\w*)|词级|按词",
            "model.tokenizer",
            "word",
        ),
    ),
    description="the next token at every position; (L,) tokens -> (L, vocab_size) logits",
)
