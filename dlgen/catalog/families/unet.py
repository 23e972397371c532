"""U-Net (Ronneberger et al., 2015) for semantic segmentation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class UNetHParams(ArchitectureHParams):
    """U-Net hyperparameters.

    ``depth`` down-sampling steps, each doubling ``base_channels``; every level is a
    double 3x3 convolution (with batch norm when ``batch_norm``). The decoder
    up-samples with transposed convolutions, or bilinear interpolation (halving the
    bottom width, as in the common PyTorch port) when ``bilinear``.
    """

    family: Literal["unet"] = "unet"
    base_channels: PositiveInt = 64
    depth: PositiveInt = Field(default=4, le=6)
    bilinear: bool = False
    batch_norm: bool = True
    dropout: float = Field(default=0.0, ge=0, lt=1)
    activation: Activation = "relu"

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality != Modality.IMAGE:
            return [f"U-Net needs images; dataset {dataset.name!r} is {dataset.modality.value}"]
        problems = []
        factor = 2**self.depth
        height, width = dataset.input_shape[1:]
        if height % factor or width % factor:
            problems.append(
                f"image size {height}x{width} is not divisible by 2**depth={factor}; use a "
                f"multiple of {factor} (e.g. {max(factor, height - height % factor)}) or a "
                "smaller depth"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        classes = dataset.num_classes or 2
        norm = 2 if self.batch_norm else 0
        bias = 0 if self.batch_norm else 1

        def double_conv(cin: int, cout: int, mid: int | None = None) -> int:
            mid = mid or cout
            return 9 * cin * mid + (norm or bias) * mid + 9 * mid * cout + (norm or bias) * cout

        widths = [self.base_channels * 2**i for i in range(self.depth + 1)]
        factor = 2 if self.bilinear else 1
        total = double_conv(dataset.input_shape[0], widths[0])
        for i in range(1, self.depth + 1):
            out = widths[i] // factor if i == self.depth else widths[i]
            total += double_conv(widths[i - 1], out)
        for i in range(self.depth, 0, -1):
            cin, cout = widths[i], widths[i - 1]
            if self.bilinear:
                out = cout // factor if i > 1 else cout
                total += double_conv(cin, out, cin // 2)
            else:
                total += 4 * cin * (cin // 2) + cin // 2 + double_conv(cin, cout)
        return total + widths[0] * classes + classes


VARIANTS = (
    Variant(
        key="unet",
        names=Names(
            en="U-Net (original)", zh="原始U-Net", aliases=("original unet", "unet original")
        ),
        hparams={"base_channels": 64, "depth": 4, "bilinear": False},
        reference_params=31_037_763,
        reference="U-Net with batch norm and transposed convolutions, 3 input channels, "
        "3 classes (the widely used milesial/Pytorch-UNet port)",
    ),
    Variant(
        key="small",
        names=Names(
            en="small U-Net", zh="小型U-Net", aliases=("small unet", "mini unet", "小型unet")
        ),
        hparams={"base_channels": 32, "depth": 4, "bilinear": True},
    ),
)

FAMILY = ArchitectureFamily(
    key="unet",
    names=Names(
        en="U-Net",
        zh="U型网络",
        aliases=("unet", "u-net", "u net", "u型网络", "u形网络"),
    ),
    hparams_model=UNetHParams,
    tasks=("semantic_segmentation",),
    variants=VARIANTS,
    default_variant="unet",
    default_datasets={"semantic_segmentation": "oxford_pet"},
    paper="Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation, MICCAI 2015",
    training_defaults={
        "optimizer": "adamw",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "epochs": 50,
        "batch_size": 16,
    },
    redirects={"image_generation": "ddpm"},
)
