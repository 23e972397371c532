"""Encoder-decoder Transformer for sequence-to-sequence tasks (Vaswani et al., 2017)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.catalog.families.transformer import encoder_layer_parameters
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class Seq2SeqHParams(ArchitectureHParams):
    """Encoder-decoder Transformer hyperparameters, named as in ``torch.nn.Transformer``.

    ``share_embeddings`` uses one embedding for source, target and the output layer
    (a joint vocabulary, as in the paper's WMT setup).
    """

    family: Literal["seq2seq"] = "seq2seq"
    hidden_dim: PositiveInt = 512
    num_encoder_layers: PositiveInt = 6
    num_decoder_layers: PositiveInt = 6
    num_heads: PositiveInt = 8
    mlp_ratio: float = Field(default=4.0, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    activation: Activation = "relu"
    max_len: PositiveInt = 256
    share_embeddings: bool = True

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if self.hidden_dim % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}; "
                "choose num_heads among the divisors of hidden_dim (e.g. 8 for 512)"
            )
        if dataset.modality != Modality.TEXT:
            problems.append(
                f"a sequence-to-sequence Transformer needs text; dataset {dataset.name!r} is "
                f"{dataset.modality.value}"
            )
        elif dataset.input_shape[0] > self.max_len:
            problems.append(
                f"sequence length {dataset.input_shape[0]} exceeds max_len={self.max_len}; "
                "raise max_len or shorten the sequences"
            )
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        dim = self.hidden_dim
        vocab = dataset.vocab_size or 32_000
        layer = encoder_layer_parameters(dim, self.mlp_ratio)
        cross_attention = 4 * dim * dim + 4 * dim + 2 * dim
        total = self.num_encoder_layers * layer + self.num_decoder_layers * (
            layer + cross_attention
        )
        total += 4 * dim  # final encoder and decoder norms
        embeddings = vocab * dim * (1 if self.share_embeddings else 3)
        return total + embeddings + vocab


def _variant(key: str, en: str, zh: str, aliases: tuple[str, ...], **hparams: object) -> Variant:
    return Variant(
        key=key,
        names=Names(en=en, zh=zh, aliases=aliases),
        hparams=dict(hparams),
        reference="Vaswani et al. 2017, Table 3",
    )


FAMILY = ArchitectureFamily(
    key="seq2seq",
    names=Names(
        en="Encoder-decoder Transformer",
        zh="编码器-解码器Transformer",
        aliases=(
            "seq2seq",
            "seq2seq transformer",
            "sequence to sequence",
            "sequence-to-sequence",
            "encoder-decoder transformer",
            "encoder decoder transformer",
            "attention is all you need",
            "编码器-解码器",
            "编码器解码器transformer",
            "序列到序列",
        ),
    ),
    hparams_model=Seq2SeqHParams,
    tasks=("sequence_to_sequence",),
    variants=(
        _variant(
            "small",
            "Transformer small (Multi30k)",
            "小型Transformer（Multi30k）",
            ("small seq2seq", "小型seq2seq"),
            hidden_dim=256,
            num_encoder_layers=3,
            num_decoder_layers=3,
            num_heads=8,
            dropout=0.1,
        ),
        _variant(
            "base",
            "Transformer base",
            "Transformer-base",
            ("transformer-base", "transformer base", "vaswani base"),
            hidden_dim=512,
            num_encoder_layers=6,
            num_decoder_layers=6,
            num_heads=8,
            dropout=0.1,
        ),
        _variant(
            "big",
            "Transformer big",
            "Transformer-big",
            ("transformer-big", "transformer big", "vaswani big"),
            hidden_dim=1024,
            num_encoder_layers=6,
            num_decoder_layers=6,
            num_heads=16,
            dropout=0.3,
        ),
    ),
    default_variant="small",
    default_datasets={"sequence_to_sequence": "multi30k"},
    paper="Vaswani et al., Attention Is All You Need, NeurIPS 2017",
    training_defaults={
        "optimizer": "adamw",
        "lr": 5e-4,
        "betas": [0.9, 0.98],
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "warmup_epochs": 1,
        "epochs": 20,
        "batch_size": 64,
        "label_smoothing": 0.1,
        "grad_clip": 1.0,
    },
)
