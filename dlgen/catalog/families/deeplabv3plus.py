"""DeepLabV3+ (Chen et al., 2018): atrous spatial pyramid pooling on a ResNet backbone."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

# Bottleneck ResNet encoders (torchvision): blocks per stage and first-stage channels.
_BACKBONES = {"resnet50": ((3, 4, 6, 3), 64), "resnet101": ((3, 4, 23, 3), 64)}
_EXPANSION = 4


class _Conv(NamedTuple):
    """One convolution: weights ``fan_in * c_out``; MACs ``fan_in * c_out * positions``."""

    fan_in: int  # input channels per group times kernel area
    c_out: int
    positions: int  # output positions per image
    # Parameters per output channel besides the weights: 2 for the batch norm that follows,
    # 1 for a bias (the head), 0 for neither (the depthwise half of a separable convolution).
    per_channel: int = 2


class DeepLabV3PlusHParams(ArchitectureHParams):
    """DeepLabV3+ hyperparameters, laid out as segmentation_models_pytorch's DeepLabV3Plus.

    The encoder is torchvision's ``backbone`` with its last stage (``output_stride`` 16) or
    last two stages (8) dilated instead of strided; the ASPP has a 1x1 branch, three
    depthwise-separable atrous branches at (6, 12, 18) (doubled to (12, 24, 36) at 8) and
    image pooling, each of ``aspp_channels``, projected by a 1x1 convolution with
    ``dropout``; the decoder upsamples to 1/4, concatenates the layer1 features projected
    to ``low_level_channels`` and fuses them with one separable 3x3 convolution of
    ``decoder_channels``. smp's ``decoder_channels`` is both ``aspp_channels`` and
    ``decoder_channels`` here.
    """

    family: Literal["deeplabv3plus"] = "deeplabv3plus"
    backbone: Literal["resnet50", "resnet101"] = "resnet50"
    output_stride: Literal[8, 16] = 16
    aspp_channels: PositiveInt = 256
    decoder_channels: PositiveInt = 256
    low_level_channels: PositiveInt = 48
    dropout: float = Field(default=0.5, ge=0, lt=1)

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
        stride = self.output_stride
        if min(dataset.input_shape[1:]) < 4 * stride:
            problems.append(
                f"images of {dataset.input_shape[1:]} are too small for output_stride="
                f"{stride}; use at least {4 * stride} pixels a side"
            )
        size = dataset.image_size
        if size is not None and size % stride:
            below, above = size - size % stride, size - size % stride + stride
            problems.append(
                f"image size {size} is not a multiple of output_stride={stride}; crop to "
                f"{below} or pad to {above}"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def input_multiple(self) -> int:
        return self.output_stride

    # Counts --------------------------------------------------------------------------

    def _encoder(self) -> tuple[tuple[int, ...], int]:
        return _BACKBONES[self.backbone]

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        # Exact: convolutions have no bias when a batch norm follows; only the head has one.
        convs = self._convs(dataset.input_shape[0], 1, dataset.num_classes or 21)
        return sum((c.fan_in + c.per_channel) * c.c_out for c in convs)

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        # Convolutions only: batch norms, activations and upsampling add about 1%.
        size = dataset.image_size or 512
        convs = self._convs(dataset.input_shape[0], size, dataset.num_classes or 21)
        return 2 * sum(c.fan_in * c.c_out * c.positions for c in convs)

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        # A convolution keeps its output; one with a batch norm also the norm's and the ReLU's.
        size = dataset.image_size or 512
        convs = self._convs(dataset.input_shape[0], size, dataset.num_classes or 21)
        return sum((3 if c.per_channel == 2 else 1) * c.c_out * c.positions for c in convs)

    def _convs(self, in_channels: int, size: int, classes: int) -> list[_Conv]:
        """Every convolution of the model on ``size x size`` images, in module order."""
        layers, width = _BACKBONES[self.backbone]
        side = -(-size // 2)  # the 7x7/2 stem convolution; sides round up
        convs = [_Conv(49 * in_channels, width, side**2)]
        side = -(-side // 2)  # the 3x3/2 max pool
        low_side, in_planes, stride = side, width, 4
        for index, blocks in enumerate(layers):
            planes, in_side = width * 2**index, side
            out_planes = planes * _EXPANSION
            if index > 0 and stride < self.output_stride:  # else dilated: the size stays
                side, stride = -(-side // 2), stride * 2
            low_side = side if index == 0 else low_side
            for block in range(blocks):
                convs += [
                    _Conv(in_planes, planes, (in_side if block == 0 else side) ** 2),
                    _Conv(9 * planes, planes, side**2),  # strided or dilated 3x3
                    _Conv(planes, out_planes, side**2),
                ]
                if block == 0:  # the projection shortcut: the channels change
                    convs.append(_Conv(in_planes, out_planes, side**2))
                in_planes = out_planes
        low_in = width * _EXPANSION
        return convs + self._decoder_convs(in_planes, low_in, side**2, low_side**2, classes)

    def _decoder_convs(
        self, high: int, low_in: int, high_positions: int, low_positions: int, classes: int
    ) -> list[_Conv]:
        """ASPP, decoder and head convolutions, in module order."""
        aspp, low, dec = self.aspp_channels, self.low_level_channels, self.decoder_channels

        def separable(c_in: int, c_out: int, positions: int) -> list[_Conv]:
            # Depthwise 3x3 (no norm of its own, no bias), pointwise 1x1 and batch norm.
            return [_Conv(9, c_in, positions, per_channel=0), _Conv(c_in, c_out, positions)]

        convs = [_Conv(high, aspp, high_positions)]  # 1x1 branch
        for _ in self.aspp_dilations:
            convs += separable(high, aspp, high_positions)
        convs.append(_Conv(high, aspp, 1))  # image pooling: one position
        convs.append(_Conv(5 * aspp, aspp, high_positions))  # projection
        convs += separable(aspp, aspp, high_positions)
        convs.append(_Conv(low_in, low, low_positions))  # low-level projection
        convs += separable(aspp + low, dec, low_positions)
        return convs + [_Conv(dec, classes, low_positions, per_channel=1)]  # head, with bias

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        return [
            ("dilated bottleneck stage at output stride s", "O(H W / s^2 * 9 * C^2)"),
            ("ASPP (separable atrous branches)", "O(H W / s^2 * C_enc * C_aspp)"),
            ("decoder at 1/4 resolution", "O(H W / 16 * (C_aspp + 48) * C_dec)"),
        ]


def _variant(backbone: str, depth: int, params: int) -> Variant:
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
        reference_params=params,
        reference="segmentation_models_pytorch DeepLabV3Plus, encoder "
        f"{backbone}, output stride 16, 21 classes",
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
    variants=(_variant("resnet50", 50, 26_682_725), _variant("resnet101", 101, 45_674_853)),
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
