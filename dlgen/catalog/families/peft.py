"""Parameter-efficient fine-tuning of pretrained Hugging Face classifiers with ``peft``.

LoRA (Hu et al., 2021) adds a trainable low-rank update ``B A`` (rank ``r``, scaled by
``alpha / r``) beside frozen attention projections; prompt tuning (Lester et al., 2021)
and P-tuning (Liu et al., 2021) learn ``num_virtual_tokens`` input embeddings instead. The
base model's weights stay frozen; the classifier head is trained in full.

The catalog stores, per supported base model, the ``transformers`` config class and the
sizes of the published checkpoint (:data:`BACKBONES`), so a project can build the same
architecture with random weights when the hub is out of reach (checks, offline tests)
and dlgen can count its parameters without downloading anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

BackboneKey = Literal["roberta_base", "bert_base", "distilbert_base", "gpt2"]
Method = Literal["lora", "prompt_tuning", "p_tuning"]


@dataclass(frozen=True)
class Backbone:
    """A pretrained base model: its hub name, config class and published sizes.

    Attributes:
        key: Catalog key (``PeftHParams.backbone``).
        hub_name: The Hugging Face model id ``from_pretrained`` loads.
        config_class: ``transformers`` config class that builds the architecture.
        model_type: ``transformers`` model type (picks the model class in the project).
        config: Keyword arguments of ``config_class`` equal to the checkpoint's config.
        target_modules: LoRA's default targets: the attention query and value projections.
        head_modules: Modules created for the new task (trained in full, ``modules_to_save``).
        local_tokenizer: Layout of the tokenizer trained offline (``bert``: WordPiece with
            [CLS]/[SEP]; ``roberta``: BPE with <s>/</s>; ``gpt2``: BPE, <|endoftext|> pads).
        reference: Where the sizes come from.
    """

    key: str
    hub_name: str
    config_class: str
    model_type: str
    config: dict[str, Any]
    target_modules: tuple[str, ...]
    head_modules: tuple[str, ...]
    local_tokenizer: Literal["bert", "roberta", "gpt2"]
    reference: str = ""

    @property
    def vocab_size(self) -> int:
        """Rows of the token embedding (the tokenizer's size)."""
        return int(self.config["vocab_size"])

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens the position embedding covers (special tokens included)."""
        if self.model_type == "gpt2":
            return int(self.config["n_positions"])
        # RoBERTa offsets positions by padding_idx + 1 (514 rows for 512 tokens).
        offset = int(self.config["pad_token_id"]) + 1 if self.model_type == "roberta" else 0
        return int(self.config["max_position_embeddings"]) - offset


BACKBONES: dict[str, Backbone] = {
    "roberta_base": Backbone(
        key="roberta_base",
        hub_name="roberta-base",
        config_class="RobertaConfig",
        model_type="roberta",
        config={
            "vocab_size": 50_265,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 514,
            "type_vocab_size": 1,
            "layer_norm_eps": 1e-5,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        target_modules=("query", "value"),
        head_modules=("classifier",),
        local_tokenizer="roberta",
        reference="Hugging Face roberta-base config.json; RobertaForSequenceClassification",
    ),
    "bert_base": Backbone(
        key="bert_base",
        hub_name="bert-base-uncased",
        config_class="BertConfig",
        model_type="bert",
        config={
            "vocab_size": 30_522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 512,
            "type_vocab_size": 2,
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
        },
        target_modules=("query", "value"),
        head_modules=("classifier",),
        local_tokenizer="bert",
        reference="Hugging Face bert-base-uncased config.json; BertForSequenceClassification",
    ),
    "distilbert_base": Backbone(
        key="distilbert_base",
        hub_name="distilbert-base-uncased",
        config_class="DistilBertConfig",
        model_type="distilbert",
        config={
            "vocab_size": 30_522,
            "dim": 768,
            "n_layers": 6,
            "n_heads": 12,
            "hidden_dim": 3072,
            "activation": "gelu",
            "dropout": 0.1,
            "attention_dropout": 0.1,
            "seq_classif_dropout": 0.2,
            "max_position_embeddings": 512,
            "sinusoidal_pos_embds": False,
            "pad_token_id": 0,
        },
        target_modules=("q_lin", "v_lin"),
        # DistilBERT's classifier is two layers; the checkpoint has neither.
        head_modules=("pre_classifier", "classifier"),
        local_tokenizer="bert",
        reference=(
            "Hugging Face distilbert-base-uncased config.json; "
            "DistilBertForSequenceClassification"
        ),
    ),
    "gpt2": Backbone(
        key="gpt2",
        hub_name="gpt2",
        config_class="GPT2Config",
        model_type="gpt2",
        config={
            "vocab_size": 50_257,
            "n_positions": 1024,
            "n_embd": 768,
            "n_layer": 12,
            "n_head": 12,
            "activation_function": "gelu_new",
            "resid_pdrop": 0.1,
            "embd_pdrop": 0.1,
            "attn_pdrop": 0.1,
            "layer_norm_epsilon": 1e-5,
            "bos_token_id": 50_256,
            "eos_token_id": 50_256,
            # GPT-2 has no padding token; <|endoftext|> pads, as is usual for classification.
            "pad_token_id": 50_256,
        },
        target_modules=("c_attn",),
        head_modules=("score",),
        local_tokenizer="gpt2",
        reference="Hugging Face gpt2 config.json; GPT2ForSequenceClassification",
    ),
}


def _encoder_parameters(b: Backbone, classes: int) -> int:
    """Parameters of a BERT-layout classifier (BERT, RoBERTa, DistilBERT) with ``classes``."""
    c = b.config
    if b.model_type == "distilbert":
        dim, layers, inner, types = c["dim"], c["n_layers"], c["hidden_dim"], 0
    else:
        dim, layers = c["hidden_size"], c["num_hidden_layers"]
        inner, types = c["intermediate_size"], c["type_vocab_size"]
    positions = c["max_position_embeddings"]
    embeddings = (c["vocab_size"] + positions + types) * dim + 2 * dim
    attention = 4 * (dim * dim + dim) + 2 * dim
    mlp = dim * inner + inner + inner * dim + dim + 2 * dim
    # BERT: pooler (dense + tanh) and a linear classifier; RoBERTa: a dense + out_proj head;
    # DistilBERT: pre_classifier + classifier.
    head = dim * dim + dim + dim * classes + classes
    return embeddings + layers * (attention + mlp) + head


def _gpt2_parameters(b: Backbone, classes: int) -> int:
    """Parameters of ``GPT2ForSequenceClassification`` (the score layer has no bias)."""
    c = b.config
    dim, layers = c["n_embd"], c["n_layer"]
    embeddings = (c["vocab_size"] + c["n_positions"]) * dim
    block = 4 * dim + (dim * 3 * dim + 3 * dim) + (dim * dim + dim)
    block += (dim * 4 * dim + 4 * dim) + (4 * dim * dim + dim)
    return embeddings + layers * block + 2 * dim + dim * classes


def _width(b: Backbone) -> int:
    """The hidden size of a backbone."""
    return int(b.config.get("hidden_size") or b.config.get("dim") or b.config["n_embd"])


def _head_parameters(b: Backbone, classes: int) -> int:
    """Parameters of the modules trained in full (``head_modules``) with ``classes`` labels."""
    dim = _width(b)
    if b.model_type == "gpt2":
        return dim * classes  # score, no bias
    if b.model_type in ("roberta", "distilbert"):
        # RoBERTa's classifier is dense + out_proj; DistilBERT's pre_classifier + classifier.
        return dim * dim + dim + dim * classes + classes
    return dim * classes + classes  # BERT: the classifier (the pooler stays frozen)


def backbone_parameters(key: str, classes: int) -> int:
    """Parameters of the base model's ``*ForSequenceClassification`` with ``classes`` labels.

    Args:
        key: A :data:`BACKBONES` key.
        classes: Number of labels of the classifier head.

    Returns:
        The count, equal to the ``transformers`` model's (checked in tests on the meta device).
    """
    backbone = BACKBONES[key]
    if backbone.model_type == "gpt2":
        return _gpt2_parameters(backbone, classes)
    return _encoder_parameters(backbone, classes)


class PeftHParams(ArchitectureHParams):
    """A pretrained base model and the parameter-efficient method that adapts it.

    ``backbone`` names the pretrained model (its hub id, config class and sizes are in
    :data:`BACKBONES`). ``method``: ``lora`` (``lora_r``, ``lora_alpha``, ``lora_dropout``,
    ``target_modules``: null picks the backbone's query/value projections;
    ``init_lora_weights``: true starts ``B`` at zero as the paper does, false draws it at
    random so the first step moves every adapter matrix, for tests),
    ``prompt_tuning`` or ``p_tuning`` (``num_virtual_tokens`` learned prompt embeddings;
    P-tuning produces them with an MLP encoder). ``pretrained_source``: ``hub`` loads the
    published weights with ``from_pretrained``; ``config`` builds the same architecture
    from its config class with random weights. ``allow_random_init`` lets a ``hub`` run
    train on real data from random weights (and a locally trained tokenizer) when the
    pretrained files cannot be found; without it such a run stops with an error.
    """

    # A request naming one of these families beside LoRA means this backbone (the
    # analyzer's backbone reading): "用LoRA微调BERT" is bert_base, GPT-2 is gpt2.
    backbone_of_family: ClassVar[dict[str, str]] = {"transformer": "bert_base", "gpt": "gpt2"}

    family: Literal["peft"] = "peft"
    backbone: BackboneKey = "roberta_base"
    method: Method = "lora"
    lora_r: PositiveInt = 8
    lora_alpha: PositiveInt = 16
    lora_dropout: float = Field(default=0.1, ge=0, lt=1)
    init_lora_weights: bool = True
    target_modules: list[str] | None = None
    num_virtual_tokens: PositiveInt = 20
    pretrained_source: Literal["hub", "config"] = "hub"
    allow_random_init: bool = False

    @model_validator(mode="after")
    def _default_targets(self) -> PeftHParams:
        """Fill ``target_modules`` with the backbone's attention projections when unset."""
        if self.target_modules is None:
            self.target_modules = list(BACKBONES[self.backbone].target_modules)
        return self

    def base(self) -> Backbone:
        """The catalog entry of :attr:`backbone` (hub id, config class, sizes)."""
        return BACKBONES[self.backbone]

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        backbone = BACKBONES[self.backbone]
        if dataset.modality != Modality.TEXT:
            return [
                f"{backbone.hub_name} classifies text; dataset {dataset.name!r} is "
                f"{dataset.modality.value}"
            ]
        problems = []
        if dataset.vocab_size != backbone.vocab_size:
            problems.append(
                f"{backbone.hub_name}'s tokenizer has {backbone.vocab_size:,} tokens but the "
                f"dataset says vocab_size={dataset.vocab_size}; set vocab_size to "
                f"{backbone.vocab_size}"
            )
        if dataset.input_shape[0] > backbone.max_tokens:
            problems.append(
                f"sequence length {dataset.input_shape[0]} exceeds the {backbone.max_tokens} "
                f"positions of {backbone.hub_name}; set the dataset's input_shape to "
                f"[{backbone.max_tokens}] or less"
            )
        if self.method != "lora" and backbone.model_type == "gpt2":
            problems.append(
                "GPT-2's classifier reads the last non-padding token, which prompt methods "
                "hide from it (they pass embeddings); use method 'lora' with gpt2"
            )
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        """Parameters of the base classifier (frozen and trained), adapters not counted."""
        return backbone_parameters(self.backbone, dataset.num_classes or 2)

    def estimate_trainable_parameters(self, dataset: DatasetSpec) -> int | None:
        """The adapters (or prompt) plus the task head; None for P-tuning's prompt encoder."""
        backbone = BACKBONES[self.backbone]
        head = _head_parameters(backbone, dataset.num_classes or 2)
        dim = _width(backbone)
        if self.method == "prompt_tuning":
            return head + self.num_virtual_tokens * dim
        if self.method != "lora":
            return None
        layers = int(backbone.config.get("num_hidden_layers") or backbone.config.get("n_layers")
                     or backbone.config["n_layer"])  # fmt: skip
        # Each adapted linear map (in -> out) gains A (r x in) and B (out x r); GPT-2's fused
        # c_attn maps D to 3D, every other default target D to D.
        adapter = sum(
            self.lora_r * (dim + (3 * dim if name == "c_attn" else dim))
            for name in self.target_modules or ()
        )
        return head + layers * adapter


def _variant(key: str, en: str, zh: str, aliases: tuple[str, ...], params: int) -> Variant:
    backbone = BACKBONES[key]
    return Variant(
        key=key,
        names=Names(en=en, zh=zh, aliases=aliases),
        hparams={"backbone": key, "target_modules": list(backbone.target_modules)},
        dataset_overrides={"vocab_size": backbone.vocab_size},
        reference_params=params,
        reference=f"{backbone.reference}, 2 labels",
    )


VARIANTS = (
    _variant(
        "roberta_base",
        "RoBERTa-base",
        "RoBERTa-base",
        ("roberta", "roberta-base", "roberta base", "roberta_base", "roberta-base 125m"),
        124_647_170,
    ),
    _variant(
        "bert_base",
        "BERT-base (uncased, pretrained)",
        "BERT-base（uncased，预训练）",
        ("bert-base-uncased", "bert base uncased", "pretrained bert", "预训练bert"),
        109_483_778,
    ),
    _variant(
        "distilbert_base",
        "DistilBERT-base (uncased)",
        "DistilBERT-base（uncased）",
        ("distilbert", "distil-bert", "distilbert-base", "distilbert-base-uncased"),
        66_955_010,
    ),
    _variant(
        "gpt2",
        "GPT-2 classifier (pretrained)",
        "GPT-2分类器（预训练）",
        ("gpt2 for sequence classification", "gpt2forsequenceclassification"),
        124_441_344,
    ),
)

FAMILY = ArchitectureFamily(
    key="peft",
    names=Names(
        en="LoRA / prompt-tuning fine-tuning (peft)",
        zh="LoRA / 提示微调（peft参数高效微调）",
        aliases=(
            "lora",
            "peft",
            "low-rank adaptation",
            "low rank adaptation",
            "parameter-efficient fine-tuning",
            "parameter efficient fine-tuning",
            "parameter-efficient finetuning",
            # Prompt tuning and P-tuning are read as the method (agent/offline/options.py),
            # so they are not aliases: an alias hides its words from the readers.
            "参数高效微调",
            "低秩适配",
            "低秩微调",
        ),
    ),
    hparams_model=PeftHParams,
    tasks=("sequence_classification",),
    variants=VARIANTS,
    default_variant="roberta_base",
    default_datasets={"sequence_classification": "imdb"},
    paper=(
        "Hu et al., LoRA: Low-Rank Adaptation of Large Language Models, 2021; Lester et al., "
        "The Power of Scale for Parameter-Efficient Prompt Tuning, 2021; Liu et al., GPT "
        "Understands, Too (P-tuning), 2021"
    ),
    # AdamW at the learning rate and batch size of the LoRA paper's RoBERTa-base GLUE runs
    # (Hu et al. 2021, table 9: lr 4e-4 to 5e-4, batch 16); only adapters and head train.
    training_defaults={
        "optimizer": "adamw",
        "lr": 5e-4,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "warmup_epochs": 1,
        "epochs": 10,
        "batch_size": 16,
        "grad_clip": 1.0,
    },
)
