"""Transformer encoder classifiers (Vaswani et al., 2017; BERT-style, Devlin et al., 2019)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


def encoder_layer_parameters(dim: int, mlp_ratio: float) -> int:
    """Parameters of one pre/post-norm Transformer layer: attention, MLP, two norms."""
    hidden = int(dim * mlp_ratio)
    attention = 3 * dim * dim + 3 * dim + dim * dim + dim
    return attention + dim * hidden + hidden + hidden * dim + dim + 4 * dim


class TransformerHParams(ArchitectureHParams):
    """A token embedding, learned positions, ``num_layers`` encoder layers and a classifier.

    ``pool="cls"`` prepends a [CLS] token and classifies it (BERT); ``"mean"``
    averages the token states. ``max_len`` bounds the sequence length.
    """

    family: Literal["transformer"] = "transformer"
    hidden_dim: PositiveInt = 256
    num_layers: PositiveInt = 4
    num_heads: PositiveInt = 4
    mlp_ratio: float = Field(default=4.0, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    activation: Activation = "gelu"
    max_len: PositiveInt = 512
    pool: Literal["cls", "mean"] = "cls"
    norm_first: bool = True

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if self.hidden_dim % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}; "
                "choose num_heads among the divisors of hidden_dim"
            )
        if dataset.modality != Modality.TEXT:
            problems.append(
                f"the Transformer encoder classifies token sequences; dataset {dataset.name!r} "
                f"is {dataset.modality.value}"
            )
        elif dataset.input_shape[0] > self.max_len:
            problems.append(
                f"sequence length {dataset.input_shape[0]} exceeds max_len={self.max_len}; "
                "raise max_len or shorten the sequences"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        dim = self.hidden_dim
        vocab = dataset.vocab_size or 30_000
        classes = dataset.num_classes or 2
        embeddings = vocab * dim + self.max_len * dim + 2 * dim
        blocks = self.num_layers * encoder_layer_parameters(dim, self.mlp_ratio)
        final_norm = 2 * dim if self.norm_first else 0
        return embeddings + blocks + final_norm + dim * classes + classes


def _bert(key: str, en: str, dim: int, depth: int, heads: int, aliases: tuple[str, ...]) -> Variant:
    return Variant(
        key=key,
        names=Names(en=en, zh=en, aliases=aliases),
        hparams={"hidden_dim": dim, "num_layers": depth, "num_heads": heads},
        reference="Turc et al. 2019 (compact BERTs); Devlin et al. 2019 (BERT-base)",
    )


FAMILY = ArchitectureFamily(
    key="transformer",
    names=Names(
        en="Transformer encoder",
        zh="Transformer编码器",
        aliases=(
            "transformer",
            "transformers",
            "transformer encoder",
            "encoder-only transformer",
            "bert",
            "bert-style",
            "transformer编码器",
            "变换器",
        ),
    ),
    hparams_model=TransformerHParams,
    tasks=("sequence_classification",),
    variants=(
        _bert("bert_tiny", "BERT-Tiny", 128, 2, 2, ("bert-tiny", "bert tiny")),
        _bert("bert_mini", "BERT-Mini", 256, 4, 4, ("bert-mini", "bert mini")),
        _bert("bert_small", "BERT-Small", 512, 4, 8, ("bert-small", "bert small")),
        _bert("bert_medium", "BERT-Medium", 512, 8, 8, ("bert-medium", "bert medium")),
        _bert("bert_base", "BERT-Base", 768, 12, 12, ("bert-base", "bert base", "bert_base")),
    ),
    default_variant="bert_mini",
    default_datasets={"sequence_classification": "imdb"},
    paper="Vaswani et al., Attention Is All You Need, 2017; Devlin et al., BERT, 2019",
    training_defaults={
        "optimizer": "adamw",
        "lr": 5e-4,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "warmup_epochs": 1,
        "epochs": 10,
        "batch_size": 32,
        "grad_clip": 1.0,
    },
    redirects={
        "sequence_to_sequence": "seq2seq",
        "language_modeling": "gpt",
        "image_classification": "vit",
    },
)
