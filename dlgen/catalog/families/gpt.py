"""GPT-style decoder-only Transformers (Radford et al., 2019), nanoGPT layout."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

GPT2_VOCAB_SIZE = 50_257
# A byte-level BPE starts from the 256 byte symbols; its merges come on top.
BYTE_ALPHABET = 256


class GPTHParams(ArchitectureHParams):
    """GPT hyperparameters, named as in nanoGPT's ``GPTConfig``.

    ``block_size`` is the context length; ``bias`` adds biases to the linear layers
    and layer norms; ``tie_weights`` shares the token embedding with the output
    layer. ``tokenizer`` says how the data turns text into tokens (the project's
    ``data.tokenizer``): ``char`` every distinct character of the corpus; ``word`` the most
    frequent words and punctuation marks of the training split; ``bpe`` a byte-level BPE
    trained on the training split to ``vocab_size`` tokens; ``gpt2`` GPT-2's own byte-pair
    encoding (vocabulary 50,257, through tiktoken).
    """

    family: Literal["gpt"] = "gpt"
    hidden_dim: PositiveInt = 384
    num_layers: PositiveInt = 6
    num_heads: PositiveInt = 6
    block_size: PositiveInt = 256
    mlp_ratio: float = Field(default=4.0, gt=0)
    dropout: float = Field(default=0.2, ge=0, lt=1)
    activation: Activation = "gelu"
    bias: bool = False
    tie_weights: bool = True
    tokenizer: Literal["char", "word", "bpe", "gpt2"] = "char"

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if self.hidden_dim % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}; "
                "choose num_heads among the divisors of hidden_dim (e.g. 12 for 768)"
            )
        if dataset.modality != Modality.TEXT:
            problems.append(
                f"GPT models text; dataset {dataset.name!r} is {dataset.modality.value}"
            )
            return problems
        if dataset.input_shape[0] > self.block_size:
            problems.append(
                f"sequence length {dataset.input_shape[0]} exceeds block_size={self.block_size}; "
                f"set the dataset's input_shape to [{self.block_size}] or raise block_size"
            )
        if self.tokenizer == "gpt2" and dataset.vocab_size != GPT2_VOCAB_SIZE:
            problems.append(
                f"tokenizer='gpt2' has a vocabulary of {GPT2_VOCAB_SIZE:,} but the dataset says "
                f"vocab_size={dataset.vocab_size}; set vocab_size to {GPT2_VOCAB_SIZE} or use "
                "the 'char', 'word' or 'bpe' tokenizer"
            )
        if self.tokenizer == "bpe" and (dataset.vocab_size or 0) <= BYTE_ALPHABET:
            problems.append(
                f"tokenizer='bpe' starts from {BYTE_ALPHABET} byte symbols but the dataset says "
                f"vocab_size={dataset.vocab_size}; set vocab_size above {BYTE_ALPHABET} "
                "(e.g. 8192)"
            )
        return problems

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        # nanoGPT's estimate_mfu (PaLM, appendix B): 6N + 12*L*H*Q*T FLOPs per token for
        # forward and backward; a third of it is the forward. N leaves out the position table.
        tokens = dataset.input_shape[0]
        params = self.estimate_parameters(dataset) - self.block_size * self.hidden_dim
        head_dim = self.hidden_dim // self.num_heads
        attention = 12 * self.num_layers * self.num_heads * head_dim * tokens
        return (6 * params + attention) * tokens // 3

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        dim = self.hidden_dim
        vocab = dataset.vocab_size or GPT2_VOCAB_SIZE
        hidden = int(dim * self.mlp_ratio)
        bias = int(self.bias)
        norm = dim * (1 + bias)
        attention = dim * 3 * dim + 3 * dim * bias + dim * dim + dim * bias
        mlp = dim * hidden + hidden * bias + hidden * dim + dim * bias
        blocks = self.num_layers * (2 * norm + attention + mlp)
        head = 0 if self.tie_weights else vocab * dim
        return vocab * dim + self.block_size * dim + blocks + norm + head


def _gpt2(
    key: str, en: str, dim: int, depth: int, heads: int, params: int, aliases: tuple[str, ...]
) -> Variant:
    return Variant(
        key=key,
        names=Names(en=en, zh=en, aliases=aliases),
        hparams={
            "hidden_dim": dim,
            "num_layers": depth,
            "num_heads": heads,
            "block_size": 1024,
            "dropout": 0.0,
            "bias": True,
            "tie_weights": True,
            "tokenizer": "gpt2",
            # GPT-2 was trained with the tanh approximation ("gelu_new"), so its weights
            # give its logits only with it.
            "activation": "gelu_tanh",
        },
        dataset_overrides={"vocab_size": GPT2_VOCAB_SIZE, "input_shape": [1024]},
        reference_params=params,
        reference=f"Hugging Face {key.replace('_', '-')} (tied embeddings, 50,257 tokens)",
    )


VARIANTS = (
    _gpt2(
        "gpt2",
        "GPT-2 small",
        768,
        12,
        12,
        124_439_808,
        ("gpt2", "gpt-2", "gpt 2", "gpt2-small", "gpt-2 small", "gpt2 124m", "gpt-2 124m"),
    ),
    _gpt2(
        "gpt2_medium",
        "GPT-2 medium",
        1024,
        24,
        16,
        354_823_168,
        ("gpt2-medium", "gpt-2 medium", "gpt2 medium", "gpt2 350m"),
    ),
    _gpt2(
        "gpt2_large",
        "GPT-2 large",
        1280,
        36,
        20,
        774_030_080,
        ("gpt2-large", "gpt-2 large", "gpt2 large", "gpt2 774m"),
    ),
    _gpt2(
        "gpt2_xl",
        "GPT-2 XL",
        1600,
        48,
        25,
        1_557_611_200,
        ("gpt2-xl", "gpt-2 xl", "gpt2 xl", "gpt2 1.5b"),
    ),
    Variant(
        key="nanogpt",
        names=Names(
            en="nanoGPT (Shakespeare char)",
            zh="nanoGPT（莎士比亚字符级）",
            aliases=("nanogpt", "nano gpt", "nano-gpt", "baby gpt", "mini gpt", "minigpt"),
        ),
        hparams={
            "hidden_dim": 384,
            "num_layers": 6,
            "num_heads": 6,
            "block_size": 256,
            "dropout": 0.2,
            "bias": False,
            "tokenizer": "char",
        },
        dataset_overrides={"input_shape": [256]},
        reference_params=10_745_088,
        reference=(
            "nanoGPT config/train_shakespeare_char.py (65 characters; nanoGPT prints 10.65M, "
            "leaving out the position embedding)"
        ),
    ),
)

FAMILY = ArchitectureFamily(
    key="gpt",
    names=Names(
        en="GPT (decoder-only Transformer)",
        zh="GPT（仅解码器Transformer）",
        aliases=(
            "gpt",
            "generative pre-trained transformer",
            "decoder-only transformer",
            "decoder only transformer",
            "causal transformer",
            "causal language model",
            "仅解码器transformer",
            "解码器transformer",
            "自回归transformer",
        ),
    ),
    hparams_model=GPTHParams,
    tasks=("language_modeling",),
    variants=VARIANTS,
    default_variant="nanogpt",
    default_datasets={"language_modeling": "tiny_shakespeare"},
    dataset_variants={"wikitext103": "gpt2", "wikitext2": "gpt2", "tiny_shakespeare": "nanogpt"},
    paper="Radford et al., Language Models are Unsupervised Multitask Learners, 2019",
    training_defaults={
        "optimizer": "adamw",
        "lr": 6e-4,
        "weight_decay": 0.1,
        "betas": [0.9, 0.95],
        "scheduler": "cosine",
        "warmup_epochs": 1,
        "epochs": 10,
        "batch_size": 32,
        "grad_clip": 1.0,
    },
)
