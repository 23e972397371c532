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
    (a joint vocabulary, as in the paper's WMT setup). ``norm_first`` switches the paper's
    post-norm sub-layers to pre-norm ones with a final LayerNorm after each stack.
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
    norm_first: bool = False

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
        """Parameters of the generated model (``models/seq2seq.py``).

        Encoder layer: fused self-attention QKV and output projection ``4 D^2 + 4 D``, the
        feed-forward network ``2 D d_ff + d_ff + D`` and two LayerNorms ``4 D``; a decoder
        layer adds cross-attention ``4 D^2 + 4 D`` and a third LayerNorm ``2 D``. Pre-norm
        stacks end with one LayerNorm each. Embeddings: one ``V x D`` matrix when shared
        (source, target and the bias-free output layer, section 3.4), else three.
        """
        dim = self.hidden_dim
        vocab = dataset.vocab_size or 32_000
        layer = encoder_layer_parameters(dim, self.mlp_ratio)
        cross_attention = 4 * dim * dim + 4 * dim + 2 * dim  # projections and norm3
        total = self.num_encoder_layers * layer + self.num_decoder_layers * (
            layer + cross_attention
        )
        if self.norm_first:
            total += 4 * dim  # final encoder and decoder norms
        embeddings = vocab * dim * (1 if self.share_embeddings else 3)
        return total + embeddings

    def estimate_flops(self, dataset: DatasetSpec) -> int:
        """Forward FLOPs per sample (a multiply-add counts 2), source and target of ``L`` tokens.

        Per encoder layer: projections ``8 L D^2``, scores and weighted sum ``4 L^2 D``, the
        feed-forward network ``4 L D d_ff``; a decoder layer adds cross-attention
        (``8 L D^2 + 4 L^2 D``); the output layer ``2 L D V``.
        """
        dim, length = self.hidden_dim, dataset.input_shape[0]
        vocab = dataset.vocab_size or 32_000
        hidden = int(dim * self.mlp_ratio)
        attention = 8 * length * dim * dim + 4 * length * length * dim
        mlp = 4 * length * dim * hidden
        encoder = self.num_encoder_layers * (attention + mlp)
        decoder = self.num_decoder_layers * (2 * attention + mlp)
        return encoder + decoder + 2 * length * dim * vocab

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        """Big-O time of the blocks, for batch B, source S and target T tokens of D features."""
        return [
            ("encoder self-attention, per layer", "O(B * S^2 * D)"),
            ("decoder self- and cross-attention, per layer", "O(B * (T^2 + T * S) * D)"),
            ("projections and feed-forward, per layer", "O(B * (S + T) * D^2 * mlp_ratio)"),
            ("output layer", "O(B * T * D * V)"),
            ("greedy/beam decoding without a key/value cache", "O(K * B * T^2 * D * N) extra"),
        ]


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
