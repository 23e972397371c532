"""SegFormer (Xie et al., 2021): a Mix Transformer encoder and an all-MLP decoder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_FourInts = list[PositiveInt]


class SegFormerHParams(ArchitectureHParams):
    """SegFormer hyperparameters, one entry per encoder stage (four stages).

    ``sr_ratios`` are the spatial-reduction ratios of efficient self-attention;
    ``decoder_dim`` is the width of the all-MLP decoder.
    """

    family: Literal["segformer"] = "segformer"
    embed_dims: _FourInts = Field(default_factory=lambda: [64, 128, 320, 512])
    depths: _FourInts = Field(default_factory=lambda: [3, 4, 6, 3])
    num_heads: _FourInts = Field(default_factory=lambda: [1, 2, 5, 8])
    sr_ratios: _FourInts = Field(default_factory=lambda: [8, 4, 2, 1])
    mlp_ratio: PositiveInt = 4
    decoder_dim: PositiveInt = 768
    dropout: float = Field(default=0.1, ge=0, lt=1)
    drop_path: float = Field(default=0.1, ge=0, lt=1)

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        lists = {
            "embed_dims": self.embed_dims,
            "depths": self.depths,
            "num_heads": self.num_heads,
            "sr_ratios": self.sr_ratios,
        }
        for name, values in lists.items():
            if len(values) != 4:
                problems.append(f"{name} needs one entry per stage (4), got {values}")
        for dim, heads in zip(self.embed_dims, self.num_heads, strict=False):
            if dim % heads:
                problems.append(
                    f"num_heads {heads} does not divide embed_dim {dim}; pick a divisor"
                )
        if dataset.modality != Modality.IMAGE:
            problems.append(
                f"SegFormer needs images; dataset {dataset.name!r} is {dataset.modality.value}"
            )
        elif dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        in_channels = dataset.input_shape[0]
        total = 0
        for stage, (dim, depth, sr) in enumerate(
            zip(self.embed_dims, self.depths, self.sr_ratios, strict=False)
        ):
            kernel = 7 if stage == 0 else 3
            total += kernel * kernel * in_channels * dim + dim + 2 * dim  # overlap patch embed
            total += depth * self._block_parameters(dim, sr) + 2 * dim  # blocks, stage norm
            in_channels = dim
        decoder = sum(dim * self.decoder_dim + self.decoder_dim for dim in self.embed_dims)
        decoder += 4 * self.decoder_dim * self.decoder_dim + 2 * self.decoder_dim
        classes = dataset.num_classes or 150
        return total + decoder + self.decoder_dim * classes + classes

    def _block_parameters(self, dim: int, sr: int) -> int:
        hidden = dim * self.mlp_ratio
        attention = (dim * dim + dim) + (2 * dim * dim + 2 * dim) + (dim * dim + dim)
        if sr > 1:
            attention += sr * sr * dim * dim + dim + 2 * dim
        mix_ffn = (dim * hidden + hidden) + (9 * hidden + hidden) + (hidden * dim + dim)
        return 4 * dim + attention + mix_ffn


_SMALL = [32, 64, 160, 256]
_WIDE = [64, 128, 320, 512]
_CONFIGS = {
    "b0": (_SMALL, [2, 2, 2, 2], 256, 3_800_000),
    "b1": (_WIDE, [2, 2, 2, 2], 256, 13_700_000),
    "b2": (_WIDE, [3, 4, 6, 3], 768, 27_500_000),
    "b3": (_WIDE, [3, 4, 18, 3], 768, 47_300_000),
    "b4": (_WIDE, [3, 8, 27, 3], 768, 64_100_000),
    "b5": (_WIDE, [3, 6, 40, 3], 768, 84_700_000),
}


def _variant(key: str) -> Variant:
    dims, depths, decoder, params = _CONFIGS[key]
    name = f"SegFormer-{key.upper()}"
    return Variant(
        key=key,
        names=Names(
            en=name,
            zh=name,
            aliases=(f"segformer-{key}", f"segformer {key}", f"mit-{key}", f"mit {key}"),
        ),
        hparams={"embed_dims": dims, "depths": depths, "decoder_dim": decoder},
        reference_params=params,
        reference="Xie et al. 2021, Table 1/2 (ADE20K, 150 classes; rounded to 0.1M)",
    )


FAMILY = ArchitectureFamily(
    key="segformer",
    names=Names(
        en="SegFormer",
        zh="SegFormer分割Transformer",
        aliases=("segformer", "seg former", "mix transformer", "mit encoder"),
    ),
    hparams_model=SegFormerHParams,
    tasks=("semantic_segmentation",),
    variants=tuple(_variant(key) for key in _CONFIGS),
    default_variant="b0",
    default_datasets={"semantic_segmentation": "ade20k"},
    paper="Xie et al., SegFormer: Simple and Efficient Design for Semantic Segmentation with "
    "Transformers, NeurIPS 2021",
    training_defaults={
        "optimizer": "adamw",
        "lr": 6e-5,
        "weight_decay": 0.01,
        "scheduler": "cosine",
        "epochs": 100,
        "batch_size": 16,
    },
)
