"""Transformer encoders: BERT classifiers (Devlin et al., 2019) and forecasters (PatchTST).

The same encoder serves two tasks: sequence classification of token ids (BERT, as Hugging
Face's ``BertForSequenceClassification``) and multivariate time-series forecasting, with one
token per time step or, with ``patch_len``, PatchTST's channel-independent patches (Nie et
al., 2023).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Recipe, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

# BERT's uncased WordPiece vocabulary (every compact BERT of Turc et al. shares it).
BERT_VOCAB_SIZE = 30_522


def encoder_layer_parameters(dim: int, mlp_ratio: float) -> int:
    """Parameters of one pre- or post-norm encoder layer: attention, MLP and two norms.

    Fused QKV ``3 (D^2 + D)``, output projection ``D^2 + D``, MLP ``2 D D_h + D_h + D`` and
    two norms of ``2 D`` each (LayerNorm or batch norm: a weight and a bias per feature).
    """
    hidden = int(dim * mlp_ratio)
    attention = 3 * dim * dim + 3 * dim + dim * dim + dim
    return attention + dim * hidden + hidden + hidden * dim + dim + 4 * dim


class TransformerHParams(ArchitectureHParams):
    """A Transformer encoder: BERT's layout for text, per-step or PatchTST tokens for series.

    Text: token, position (``max_len`` rows) and token-type (``type_vocab_size`` rows)
    embeddings with a LayerNorm, ``num_layers`` layers, then the ``pool`` summary (``cls``:
    the first token; ``mean``: the real tokens), BERT's ``pooler`` (dense + tanh) and a
    classifier. Series: a linear embedding of each step's variables (or, with
    ``patch_len``/``stride``, of each variable's patches, PatchTST) plus learned positions,
    the layers, and a flatten head to the horizon; ``revin`` normalises each window by its
    own statistics. ``norm_first`` selects pre-norm layers (BERT is post-norm); ``norm`` is
    ``layer`` or ``batch`` (PatchTST's batch norm, post-norm series models only).
    """

    family: Literal["transformer"] = "transformer"
    hidden_dim: PositiveInt = 256
    num_layers: PositiveInt = 4
    num_heads: PositiveInt = 4
    mlp_ratio: float = Field(default=4.0, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    activation: Activation = "gelu"
    max_len: PositiveInt = 512
    type_vocab_size: NonNegativeInt = 2
    pool: Literal["cls", "mean"] = "cls"
    pooler: bool = True
    norm_first: bool = False
    norm: Literal["layer", "batch"] = "layer"
    layer_norm_eps: PositiveFloat = 1e-12
    patch_len: PositiveInt | None = None
    stride: PositiveInt = 8
    revin: bool = False

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if self.hidden_dim % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}; "
                "choose num_heads among the divisors of hidden_dim"
            )
        if self.norm == "batch" and self.norm_first:
            problems.append("norm='batch' is for post-norm layers; set norm_first to false")
        if dataset.modality == Modality.TEXT:
            return problems + self._check_text(dataset)
        if dataset.modality == Modality.TIME_SERIES:
            return problems + self._check_series(dataset)
        problems.append(
            f"the Transformer encoder classifies token sequences or forecasts time series; "
            f"dataset {dataset.name!r} is {dataset.modality.value}"
        )
        return problems

    def _check_text(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if dataset.input_shape[0] > self.max_len:
            problems.append(
                f"sequence length {dataset.input_shape[0]} exceeds max_len={self.max_len}; "
                "raise max_len or shorten the sequences"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        if self.norm != "layer":
            problems.append(
                "norm='batch' would mix padded tokens into the statistics; use norm='layer' "
                "for text"
            )
        if self.patch_len is not None or self.revin:
            problems.append(
                "patch_len and revin are time-series options; set patch_len to null and "
                "revin to false for text"
            )
        return problems

    def _check_series(self, dataset: DatasetSpec) -> list[str]:
        if dataset.output_shape is None:
            return [f"dataset {dataset.name!r} needs output_shape (horizon, features)"]
        window = dataset.input_shape[0]
        if self.patch_len is None:
            return []
        problems = []
        if self.patch_len > window:
            problems.append(
                f"patch_len={self.patch_len} is longer than the input window of {window} "
                f"steps; choose patch_len <= {window} or a longer window"
            )
        if self.stride > self.patch_len:
            problems.append(
                f"stride={self.stride} exceeds patch_len={self.patch_len}, so steps between "
                "patches are never seen; choose stride <= patch_len (PatchTST: 16 and 8)"
            )
        return problems

    def num_tokens(self, dataset: DatasetSpec) -> int:
        """Tokens per sequence: text positions, time steps, or patches per variable.

        PatchTST pads the window's end with ``stride`` copies of its last step, so a window
        of ``L`` steps gives ``(L - patch_len) // stride + 2`` patches.
        """
        length = dataset.input_shape[0]
        if dataset.modality == Modality.TIME_SERIES and self.patch_len is not None:
            return (length - self.patch_len) // self.stride + 2
        return length

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        dim = self.hidden_dim
        layers = self.num_layers * encoder_layer_parameters(dim, self.mlp_ratio)
        final_norm = 2 * dim if self.norm_first else 0
        if dataset.modality == Modality.TIME_SERIES:
            return layers + final_norm + self._series_parameters(dataset)
        vocab = dataset.vocab_size or BERT_VOCAB_SIZE
        classes = dataset.num_classes or 2
        tables = (vocab + self.max_len + self.type_vocab_size) * dim
        embeddings = tables + 2 * dim  # and the embedding LayerNorm
        pooler = dim * dim + dim if self.pooler else 0
        return embeddings + layers + final_norm + pooler + dim * classes + classes

    def _series_parameters(self, dataset: DatasetSpec) -> int:
        """Embedding, positions, head and RevIN of a forecaster (the layers apart)."""
        dim, tokens = self.hidden_dim, self.num_tokens(dataset)
        features = dataset.input_shape[-1]
        horizon = (dataset.output_shape or dataset.input_shape)[0]
        revin = 2 * features if self.revin else 0
        if self.patch_len is not None:
            embed = self.patch_len * dim + dim
            head = tokens * dim * horizon + horizon
        else:
            embed = features * dim + dim
            head = tokens * dim * horizon * features + horizon * features
        return revin + embed + tokens * dim + head

    def estimate_flops(self, dataset: DatasetSpec) -> int:
        """Forward FLOPs per sample (a multiply-add counts 2).

        Per sequence of ``N`` tokens and layer: the QKV and output projections
        ``8 N D^2``, the attention scores and their weighted sum ``4 N^2 D`` and the MLP
        ``4 N D D_h``. A PatchTST sample is ``F`` sequences of patches. Embeddings, norms,
        softmax and the small heads' lookups are counted only where they are matrix
        products (the forecaster's token embedding and head, the pooler and classifier).
        """
        dim, tokens = self.hidden_dim, self.num_tokens(dataset)
        hidden = int(dim * self.mlp_ratio)
        per_layer = 8 * tokens * dim * dim + 4 * tokens * tokens * dim + 4 * tokens * dim * hidden
        sequences = 1
        if dataset.modality == Modality.TIME_SERIES:
            features = dataset.input_shape[-1]
            horizon = (dataset.output_shape or dataset.input_shape)[0]
            if self.patch_len is not None:
                sequences = features
                ends = 2 * tokens * self.patch_len * dim + 2 * tokens * dim * horizon
            else:
                ends = 2 * tokens * features * dim + 2 * tokens * dim * horizon * features
            return sequences * (self.num_layers * per_layer + ends)
        classes = dataset.num_classes or 2
        ends = (2 * dim * dim if self.pooler else 0) + 2 * dim * classes
        return self.num_layers * per_layer + ends

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        """Big-O time of the blocks, for batch B, N tokens of D features."""
        notes = [
            ("self-attention, per layer", "O(B * N^2 * D)"),
            ("projections and MLP, per layer", "O(B * N * D^2 * mlp_ratio)"),
        ]
        if dataset.modality == Modality.TIME_SERIES and self.patch_len is not None:
            notes.append(
                ("PatchTST: F variables, N = (L - patch_len) // stride + 2", "O(F * B * N^2 * D)")
            )
        elif dataset.modality == Modality.TIME_SERIES:
            notes.append(("flatten head, L steps to H x F values", "O(B * L * D * H * F)"))
        return notes


def _bert(
    key: str, en: str, dim: int, depth: int, heads: int, params: int, aliases: tuple[str, ...]
) -> Variant:
    return Variant(
        key=key,
        names=Names(en=en, zh=en, aliases=aliases),
        hparams={"hidden_dim": dim, "num_layers": depth, "num_heads": heads},
        # The WordPiece vocabulary's size, so a BERT checkpoint's embedding fits.
        dataset_overrides={"vocab_size": BERT_VOCAB_SIZE},
        reference_params=params,
        reference=(
            "Hugging Face BertForSequenceClassification, 30,522 tokens, 512 positions, "
            "2 labels (Turc et al. 2019 compact BERTs; Devlin et al. 2019 BERT-base)"
        ),
    )


def _patched(model: dict[str, Any], data: dict[str, Any]) -> bool:
    return data.get("modality") == "time_series" and model.get("patch_len") is not None


VARIANTS = (
    _bert("bert_tiny", "BERT-Tiny", 128, 2, 2, 4_386_178, ("bert-tiny", "bert tiny")),
    _bert("bert_mini", "BERT-Mini", 256, 4, 4, 11_171_074, ("bert-mini", "bert mini")),
    _bert("bert_small", "BERT-Small", 512, 4, 8, 28_764_674, ("bert-small", "bert small")),
    _bert("bert_medium", "BERT-Medium", 512, 8, 8, 41_374_210, ("bert-medium", "bert medium")),
    _bert(
        "bert_base",
        "BERT-Base",
        768,
        12,
        12,
        109_483_778,
        ("bert-base", "bert base", "bert_base"),
    ),
    Variant(
        key="forecaster",
        names=Names(
            en="Transformer forecaster (one token per time step)",
            zh="Transformer时间序列预测器（每个时间步一个词元）",
            # No task words ("forecaster", "time series"): the analyzer reads those as the
            # task, and task_variants then picks this variant.
            aliases=("ts transformer", "ts-transformer", "时序transformer"),
        ),
        hparams={
            "hidden_dim": 64,
            "num_layers": 2,
            "num_heads": 4,
            "mlp_ratio": 4.0,
            "dropout": 0.1,
            "layer_norm_eps": 1e-5,
            "revin": True,
        },
        reference="Vaswani et al. 2017 encoder; a linear flatten head to the horizon",
        task="time_series_forecasting",
    ),
    Variant(
        key="patchtst",
        names=Names(
            en="PatchTST",
            zh="PatchTST（分块时序Transformer）",
            aliases=("patchtst", "patch tst", "patch-tst", "patchtst/64", "patchtst/42"),
        ),
        hparams={
            "hidden_dim": 128,
            "num_layers": 3,
            "num_heads": 16,
            "mlp_ratio": 2.0,
            "dropout": 0.2,
            "norm": "batch",
            "layer_norm_eps": 1e-5,
            "patch_len": 16,
            "stride": 8,
            "revin": True,
        },
        reference=(
            "Nie et al., A Time Series is Worth 64 Words, ICLR 2023: appendix A.1.4 default "
            "(3 layers, 16 heads, D=128, F=256, patch 16, stride 8, RevIN, batch norm)"
        ),
        task="time_series_forecasting",
    ),
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
    tasks=("sequence_classification", "time_series_forecasting"),
    variants=VARIANTS,
    default_variant="bert_mini",
    task_variants={"time_series_forecasting": "forecaster"},
    default_datasets={
        "sequence_classification": "imdb",
        "time_series_forecasting": "synthetic_series",
    },
    # ETT is PatchTST's benchmark (Nie et al. 2023, Table 3).
    dataset_variants={"ett": "patchtst", "synthetic_series": "forecaster"},
    paper="Vaswani et al., Attention Is All You Need, 2017; Devlin et al., BERT, 2019; "
    "Nie et al., A Time Series is Worth 64 Words (PatchTST), 2023",
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
    recipes=(
        Recipe(
            "PatchTST",
            "Nie et al., A Time Series is Worth 64 Words, ICLR 2023, appendix A.1.4: Adam, "
            "lr 1e-4, batch 128, 100 epochs, early stopping",
            {
                "optimizer": "adam",
                "lr": 1e-4,
                "weight_decay": 0.0,
                "batch_size": 128,
                "epochs": 100,
                "warmup_epochs": 0,
                "early_stopping_patience": 10,
            },
            applies=_patched,
        ),
    ),
    redirects={
        "sequence_to_sequence": "seq2seq",
        "language_modeling": "gpt",
        "image_classification": "vit",
    },
)
