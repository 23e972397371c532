"""SegFormer (Xie et al., 2021): a Mix Transformer encoder and an all-MLP decoder."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_FourInts = list[PositiveInt]


# Overlapping patch embeddings: kernel and stride of each stage; total strides 4 to 32.
_KERNELS = (7, 3, 3, 3)
_STRIDES = (4, 2, 2, 2)
_STAGE_STRIDES = (4, 8, 16, 32)
_LISTS = ("embed_dims", "depths", "num_heads", "sr_ratios")


class SegFormerHParams(ArchitectureHParams):
    """SegFormer hyperparameters, one entry per encoder stage (four stages).

    ``sr_ratios`` are the spatial-reduction ratios of efficient self-attention;
    ``decoder_dim`` is the width of the all-MLP decoder; ``dropout`` is the decoder's
    before the classifier, ``drop_path`` the stochastic depth of the encoder's last block.
    Any image size works (the padded embeddings round sides up) from a smallest side that
    the reduction ratios set (:meth:`min_input_side`).
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

    def min_input_side(self) -> int:
        """The smallest image side: stage i's ``R_i x R_i`` reduction needs ``R_i`` rows."""
        return max(
            (ratio - 1) * stride + 1
            for ratio, stride in zip(self.sr_ratios, _STAGE_STRIDES, strict=False)
        )

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        for name in _LISTS:
            values = getattr(self, name)
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
            return problems
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        side = min(dataset.input_shape[1:])
        if len(self.sr_ratios) == 4 and side < self.min_input_side():
            problems.append(
                f"images of {dataset.input_shape[1:]} are too small for sr_ratios="
                f"{self.sr_ratios}; use at least {self.min_input_side()} pixels a side or "
                "lower sr_ratios"
            )
        return problems

    def debug_image_size(self, dataset: DatasetSpec) -> int | None:
        size = super().debug_image_size(dataset)
        if size is None or size >= self.min_input_side():
            return size
        # A multiple of 32 at least the smallest side, below the data's own size.
        return min(dataset.image_size or size, 32 * -(-self.min_input_side() // 32))

    # Counts --------------------------------------------------------------------------

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        # Exact (equal to Hugging Face's SegformerForSemanticSegmentation): every linear and
        # convolution has a bias but the decoder's fuse convolution (a batch norm follows).
        in_channels = dataset.input_shape[0]
        total = 0
        for stage, (dim, depth, sr) in enumerate(
            zip(self.embed_dims, self.depths, self.sr_ratios, strict=False)
        ):
            kernel = _KERNELS[stage]
            total += kernel * kernel * in_channels * dim + dim + 2 * dim  # overlap patch embed
            total += depth * self._block_parameters(dim, sr) + 2 * dim  # blocks, stage norm
            in_channels = dim
        decoder = sum(dim * self.decoder_dim + self.decoder_dim for dim in self.embed_dims)
        stages = len(self.embed_dims)
        decoder += stages * self.decoder_dim * self.decoder_dim + 2 * self.decoder_dim
        classes = dataset.num_classes or 150
        return total + decoder + self.decoder_dim * classes + classes

    def _block_parameters(self, dim: int, sr: int) -> int:
        hidden = dim * self.mlp_ratio
        attention = (dim * dim + dim) + (2 * dim * dim + 2 * dim) + (dim * dim + dim)
        if sr > 1:
            attention += sr * sr * dim * dim + dim + 2 * dim  # reduction conv and its norm
        mix_ffn = (dim * hidden + hidden) + (9 * hidden + hidden) + (hidden * dim + dim)
        return 4 * dim + attention + mix_ffn

    def _grids(self, dataset: DatasetSpec) -> list[tuple[int, int]]:
        """Each stage's token grid ``(N_i, M_i)``: queries and reduced keys per image."""
        height, width = (list(dataset.input_shape[1:]) + [512, 512])[:2]
        grids = []
        for stride, sr in zip(_STRIDES, self.sr_ratios, strict=False):
            height, width = -(-height // stride), -(-width // stride)
            grids.append((height * width, (height // sr) * (width // sr)))
        return grids

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        # Linear layers, convolutions and the two attention products (2 FLOPs per MAC);
        # norms, activations, biases and the upsampling add about 1%.
        grids = self._grids(dataset)
        channels, macs = dataset.input_shape[0], 0
        for stage, ((tokens, keys), dim, depth, sr) in enumerate(
            zip(grids, self.embed_dims, self.depths, self.sr_ratios, strict=False)
        ):
            macs += tokens * _KERNELS[stage] ** 2 * channels * dim  # patch embedding
            hidden = dim * self.mlp_ratio
            block = 2 * tokens * dim * dim + 2 * keys * dim * dim  # q, proj; k and v
            block += keys * sr * sr * dim * dim if sr > 1 else 0  # reduction convolution
            block += 2 * tokens * keys * dim  # Q K^T and the weighted values
            block += 2 * tokens * dim * hidden + 9 * tokens * hidden  # Mix-FFN
            macs += depth * block
            channels = dim
        first, decoder = grids[0][0], self.decoder_dim
        projected = zip(grids, self.embed_dims, strict=False)
        macs += sum(tokens * dim * decoder for (tokens, _), dim in projected)
        macs += first * len(grids) * decoder * decoder  # fuse convolution
        macs += first * decoder * (dataset.num_classes or 150)  # classifier
        return 2 * macs

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        # What autograd keeps for the backward pass, per image (within 10% of it): the image;
        # per block its input, the two norms' outputs, q, the attention output (twice: SDPA's
        # and the projection's input), the residual, the reduced grid (convolution, norm, k
        # and v), the Mix-FFN's three hidden maps, and per token the norms' statistics and
        # the attention's log-sum-exp per head; per stage the embedding and the final norm;
        # the decoder's concatenation (4 D), fuse output, and the norm's and classifier's
        # inputs at 1/4.
        grids = self._grids(dataset)
        values = math.prod(dataset.input_shape[:3])  # the first convolution's input
        for (tokens, keys), dim, depth, sr, heads in zip(
            grids, self.embed_dims, self.depths, self.sr_ratios, self.num_heads, strict=False
        ):
            reduced = 4 * keys * dim + 2 * keys if sr > 1 else 2 * keys * dim
            block = tokens * (7 * dim + 3 * dim * self.mlp_ratio + 4 + heads) + reduced
            values += 3 * tokens * dim + 4 * tokens + depth * block  # embedding, stage norm
        return values + 7 * grids[0][0] * self.decoder_dim

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        (tokens, keys), *_ = self._grids(dataset)
        ratio = self.sr_ratios[0]
        return [
            (
                f"efficient self-attention, stage 1 (N={tokens} queries, "
                f"M=N/R^2={keys} keys at R={ratio})",
                "O(N M d)",
            ),
            (f"Mix-FFN, per block (ratio r={self.mlp_ratio})", "O(N d^2 r)"),
            (f"all-MLP decoder at 1/4 resolution (D={self.decoder_dim})", "O(N D^2)"),
        ]


# MiT-B0..B5 (Xie et al. 2021): stage widths, depths per stage, decoder width, and the exact
# parameter count of Hugging Face's SegformerForSemanticSegmentation with 150 classes.
_SMALL = [32, 64, 160, 256]
_WIDE = [64, 128, 320, 512]
_CONFIGS = {
    "b0": (_SMALL, [2, 2, 2, 2], 256, 3_752_694),
    "b1": (_WIDE, [2, 2, 2, 2], 256, 13_715_798),
    "b2": (_WIDE, [3, 4, 6, 3], 768, 27_461_974),
    "b3": (_WIDE, [3, 4, 18, 3], 768, 47_337_814),
    "b4": (_WIDE, [3, 8, 27, 3], 768, 64_108_374),
    "b5": (_WIDE, [3, 6, 40, 3], 768, 84_708_694),
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
        reference="Hugging Face SegformerForSemanticSegmentation, 150 classes (ADE20K)",
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
