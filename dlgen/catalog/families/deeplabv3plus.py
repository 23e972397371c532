"""DeepLabV3+ (Chen et al., 2018): atrous spatial pyramid pooling on a ResNet backbone."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

# Parameters of the torchvision backbones without their classifier (fc).
_BACKBONE_PARAMETERS = {"resnet50": 23_508_032, "resnet101": 42_500_160}
_BACKBONE_CHANNELS = 2048
_LOW_LEVEL_CHANNELS = 256


class DeepLabV3PlusHParams(ArchitectureHParams):
    """DeepLabV3+ hyperparameters.

    ``output_stride`` 16 uses ASPP dilations (6, 12, 18), 8 doubles them to
    (12, 24, 36) and dilates one more backbone stage.
    """

    family: Literal["deeplabv3plus"] = "deeplabv3plus"
    backbone: Literal["resnet50", "resnet101"] = "resnet50"
    output_stride: Literal[8, 16] = 16
    aspp_channels: PositiveInt = 256
    decoder_channels: PositiveInt = 256
    low_level_channels: PositiveInt = 48
    dropout: float = Field(default=0.1, ge=0, lt=1)

    @property
    def aspp_dilations(self) -> tuple[int, int, int]:
        """Dilation rates of the three atrous branches."""
        return (6, 12, 18) if self.output_stride == 16 else (12, 24, 36)

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality != Modality.IMAGE:
            return [
                f"DeepLabV3+ needs images; dataset {dataset.name!r} is {dataset.modality.value}"
            ]
        problems = []
        if min(dataset.input_shape[1:]) < 4 * self.output_stride:
            problems.append(
                f"images of {dataset.input_shape[1:]} are too small for output_stride="
                f"{self.output_stride}; use at least {4 * self.output_stride} pixels a side"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        classes = dataset.num_classes or 21
        aspp, dec, low = self.aspp_channels, self.decoder_channels, self.low_level_channels
        stem_delta = (dataset.input_shape[0] - 3) * 64 * 49
        total = _BACKBONE_PARAMETERS[self.backbone] + stem_delta
        total += 2 * (_BACKBONE_CHANNELS * aspp + 2 * aspp)  # 1x1 branch and image pooling
        total += 3 * (9 * _BACKBONE_CHANNELS * aspp + 2 * aspp)  # three atrous branches
        total += 5 * aspp * aspp + 2 * aspp  # projection of the concatenation
        total += _LOW_LEVEL_CHANNELS * low + 2 * low
        total += 9 * (aspp + low) * dec + 2 * dec + 9 * dec * dec + 2 * dec
        return total + dec * classes + classes


def _variant(backbone: str, depth: int) -> Variant:
    return Variant(
        key=backbone,
        names=Names(
            en=f"DeepLabV3+ ResNet-{depth}",
            zh=f"DeepLabV3+（ResNet-{depth}骨干）",
            aliases=(
                f"deeplabv3+ resnet{depth}",
                f"deeplabv3plus resnet{depth}",
                f"deeplabv3+ r{depth}",
                f"deeplabv3plus_resnet{depth}",
            ),
        ),
        hparams={"backbone": backbone, "output_stride": 16},
    )


FAMILY = ArchitectureFamily(
    key="deeplabv3plus",
    names=Names(
        en="DeepLabV3+",
        zh="DeepLabV3+语义分割网络",
        aliases=(
            "deeplabv3+",
            "deeplabv3plus",
            "deeplab v3+",
            "deeplab v3 plus",
            "deeplabv3 plus",
            "deeplab",
            "deeplabv3",
            "deeplab v3",
        ),
    ),
    hparams_model=DeepLabV3PlusHParams,
    tasks=("semantic_segmentation",),
    variants=(_variant("resnet50", 50), _variant("resnet101", 101)),
    default_variant="resnet50",
    default_datasets={"semantic_segmentation": "pascal_voc"},
    paper="Chen et al., Encoder-Decoder with Atrous Separable Convolution for Semantic Image "
    "Segmentation, ECCV 2018",
    training_defaults={
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "epochs": 100,
        "batch_size": 16,
        "grad_clip": None,
    },
)
