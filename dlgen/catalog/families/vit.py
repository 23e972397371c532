"""Vision Transformer (Dosovitskiy et al., 2021) and DeiT (Touvron et al., 2021)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Recipe, Variant
from dlgen.spec.common import Activation
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class ViTHParams(ArchitectureHParams):
    """ViT/DeiT hyperparameters, named as in timm."""

    family: Literal["vit"] = "vit"
    patch_size: PositiveInt = 16
    hidden_dim: PositiveInt = 768
    num_layers: PositiveInt = 12
    num_heads: PositiveInt = 12
    mlp_ratio: float = Field(default=4.0, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    attention_dropout: float = Field(default=0.0, ge=0, lt=1)
    drop_path: float = Field(default=0.0, ge=0, lt=1)
    activation: Activation = "gelu"
    class_token: bool = True
    pool: Literal["cls", "mean"] = "cls"
    distilled: bool = False

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if self.hidden_dim % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}; "
                "choose num_heads among the divisors of hidden_dim (e.g. 12 for 768)"
            )
        size = dataset.image_size
        if size is not None and size % self.patch_size:
            problems.append(
                f"image_size={size} is not divisible by patch_size={self.patch_size}; "
                f"use an image size that is a multiple of {self.patch_size} "
                f"(e.g. {size - size % self.patch_size or self.patch_size}) or another patch size"
            )
        if self.pool == "cls" and not self.class_token:
            problems.append("pool='cls' needs class_token=true; set pool to 'mean' or enable it")
        return problems

    def input_multiple(self) -> int:
        return self.patch_size

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        size = dataset.image_size or 224
        channels = dataset.in_channels or 3
        classes = dataset.num_classes or 1000
        dim, hidden = self.hidden_dim, int(self.hidden_dim * self.mlp_ratio)
        tokens = (size // self.patch_size) ** 2 + int(self.class_token) + int(self.distilled)
        patch_embed = channels * self.patch_size**2 * dim + dim
        block = 4 * dim + (3 * dim * dim + 3 * dim) + (dim * dim + dim)
        block += dim * hidden + hidden + hidden * dim + dim
        heads = (dim * classes + classes) * (2 if self.distilled else 1)
        extra = dim * (int(self.class_token) + int(self.distilled))
        return patch_embed + tokens * dim + extra + self.num_layers * block + 2 * dim + heads

    def _tokens(self, dataset: DatasetSpec) -> tuple[int, int]:
        patches = ((dataset.image_size or 224) // self.patch_size) ** 2
        return patches, patches + int(self.class_token) + int(self.distilled)

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        patches, tokens = self._tokens(dataset)
        dim, hidden = self.hidden_dim, int(self.hidden_dim * self.mlp_ratio)
        channels = dataset.in_channels or 3
        classes = dataset.num_classes or 1000
        embed = patches * channels * self.patch_size**2 * dim
        # qkv + output projection, scores QK^T and weighted values, two MLP layers.
        block = tokens * 4 * dim * dim + 2 * tokens * tokens * dim + 2 * tokens * dim * hidden
        head = dim * classes * (2 if self.distilled else 1)
        return 2 * (embed + self.num_layers * block + head)

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        _, tokens = self._tokens(dataset)
        # Korthikanti et al. (2022): about N*d*(9 + 2r) + 2.5*h*N^2 values per layer.
        per_layer = tokens * self.hidden_dim * (9 + 2 * self.mlp_ratio)
        per_layer += 2.5 * self.num_heads * tokens * tokens
        return int(self.num_layers * per_layer + tokens * self.hidden_dim)

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        _, tokens = self._tokens(dataset)
        return [
            (f"self-attention, per layer (N={tokens} tokens, d={self.hidden_dim})", "O(N^2 d)"),
            (f"MLP, per layer (ratio r={self.mlp_ratio:g})", "O(N d^2 r)"),
            (f"patch embedding (p={self.patch_size})", "O(N p^2 C d)"),
        ]


def _vit(
    key: str,
    en: str,
    aliases: tuple[str, ...],
    dim: int,
    depth: int,
    heads: int,
    patch: int,
    params: int | None,
    reference: str,
    **extra: object,
) -> Variant:
    return Variant(
        key=key,
        names=Names(en=en, zh=en, aliases=aliases),
        hparams={
            "hidden_dim": dim,
            "num_layers": depth,
            "num_heads": heads,
            "patch_size": patch,
            **extra,
        },
        reference_params=params,
        reference=reference,
    )


def _imagenet(model: dict[str, Any], data: dict[str, Any]) -> bool:
    return data.get("name") == "imagenet"


def _imagenet_small_or_larger(model: dict[str, Any], data: dict[str, Any]) -> bool:
    return _imagenet(model, data) and model.get("hidden_dim", 768) >= 384


# DeiT (Touvron et al. 2021, Table 9 and the reference main.py): lr 5e-4 per 512 images,
# scaled linearly with the global batch; RandAugment and random erasing; no grad clipping.
_DEIT_TRAINING = {
    "optimizer": "adamw",
    "lr": 5e-4,
    "lr_reference_batch": 512,
    "weight_decay": 0.05,
    "scheduler": "cosine",
    "warmup_epochs": 5,
    "epochs": 300,
    "batch_size": 128,
    "label_smoothing": 0.1,
    "mixup_alpha": 0.8,
    "cutmix_alpha": 1.0,
    "grad_clip": None,
    "precision": "bf16",
}
_DEIT_DATA = {"randaugment_magnitude": 9, "random_erasing": 0.25}
RECIPES = (
    Recipe(
        "DeiT ImageNet",
        "Touvron et al., Training data-efficient image transformers, ICML 2021, Table 9",
        _DEIT_TRAINING,
        model={"drop_path": 0.1},  # DeiT-S and DeiT-B
        data=_DEIT_DATA,
        applies=_imagenet_small_or_larger,
    ),
    Recipe(
        "DeiT ImageNet",
        "Touvron et al., Training data-efficient image transformers, ICML 2021, Table 9",
        _DEIT_TRAINING,
        data=_DEIT_DATA,  # DeiT-Ti trains without drop path
        applies=_imagenet,
    ),
)

VARIANTS = (
    _vit(
        "ti16",
        "ViT-Ti/16",
        ("vit-ti/16", "vit-tiny", "vit_tiny_patch16_224", "vit-t/16", "vit-ti", "vit tiny"),
        192,
        12,
        3,
        16,
        5_717_416,
        "timm vit_tiny_patch16_224",
    ),
    _vit(
        "s16",
        "ViT-S/16",
        ("vit-s/16", "vit-small", "vit_small_patch16_224", "vit-s", "vit small"),
        384,
        12,
        6,
        16,
        22_050_664,
        "timm vit_small_patch16_224",
    ),
    _vit(
        "s32",
        "ViT-S/32",
        ("vit-s/32", "vit_small_patch32_224"),
        384,
        12,
        6,
        32,
        22_878_952,
        "timm vit_small_patch32_224",
    ),
    _vit(
        "b16",
        "ViT-B/16",
        ("vit-b/16", "vit-base", "vit_base_patch16_224", "vit-b", "vit base", "vit-base/16"),
        768,
        12,
        12,
        16,
        86_567_656,
        "timm vit_base_patch16_224",
    ),
    _vit(
        "b32",
        "ViT-B/32",
        ("vit-b/32", "vit_base_patch32_224"),
        768,
        12,
        12,
        32,
        88_224_232,
        "timm vit_base_patch32_224",
    ),
    _vit(
        "l16",
        "ViT-L/16",
        ("vit-l/16", "vit-large", "vit_large_patch16_224", "vit-l"),
        1024,
        24,
        16,
        16,
        304_326_632,
        "timm vit_large_patch16_224",
    ),
    _vit(
        "l32",
        "ViT-L/32",
        ("vit-l/32", "vit_large_patch32_224"),
        1024,
        24,
        16,
        32,
        306_535_400,
        "timm vit_large_patch32_224",
    ),
    _vit(
        "h14",
        "ViT-H/14",
        ("vit-h/14", "vit-huge", "vit_huge_patch14_224", "vit-h"),
        1280,
        32,
        16,
        14,
        632_045_800,
        "timm vit_huge_patch14_224",
    ),
    _vit(
        "deit_ti",
        "DeiT-Ti",
        ("deit-ti", "deit-tiny", "deit_tiny_patch16_224", "deit-t"),
        192,
        12,
        3,
        16,
        5_717_416,
        "timm deit_tiny_patch16_224",
    ),
    _vit(
        "deit_s",
        "DeiT-S",
        ("deit-s", "deit-small", "deit_small_patch16_224"),
        384,
        12,
        6,
        16,
        22_050_664,
        "timm deit_small_patch16_224",
    ),
    _vit(
        "deit_b",
        "DeiT-B",
        ("deit-b", "deit-base", "deit_base_patch16_224", "deit"),
        768,
        12,
        12,
        16,
        86_567_656,
        "timm deit_base_patch16_224",
    ),
    _vit(
        "deit_b_distilled",
        "DeiT-B distilled",
        ("deit-b-distilled", "deit_base_distilled_patch16_224"),
        768,
        12,
        12,
        16,
        87_338_192,
        "timm deit_base_distilled_patch16_224",
        distilled=True,
    ),
)

FAMILY = ArchitectureFamily(
    key="vit",
    names=Names(
        en="Vision Transformer",
        zh="视觉Transformer",
        aliases=(
            "vit",
            "vision transformer",
            "视觉transformer",
            "视觉变换器",
            "视觉 transformer",
            "vision transformers",
            "视觉自注意力网络",
            "视觉transformer模型",
            "data-efficient image transformer",
        ),
    ),
    hparams_model=ViTHParams,
    tasks=("image_classification",),
    variants=VARIANTS,
    default_variant="b16",
    default_datasets={"image_classification": "imagenet"},
    recipes=RECIPES,
    training_defaults={
        "optimizer": "adamw",
        "lr": 1e-3,
        "weight_decay": 0.05,
        "scheduler": "cosine",
        "warmup_epochs": 5,
        "label_smoothing": 0.1,
        "epochs": 300,
        "batch_size": 128,
        "grad_clip": 1.0,
    },
    paper="Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021; "
    "Touvron et al., Training data-efficient image transformers, ICML 2021",
)
