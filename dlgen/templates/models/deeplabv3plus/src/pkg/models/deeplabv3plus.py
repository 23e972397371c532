"""DeepLabV3+ (Chen et al., 2018): a dilated ResNet encoder, ASPP and a light decoder.

The layout follows segmentation_models_pytorch's ``DeepLabV3Plus`` (ResNet encoders,
separable ASPP): the same modules in the same order, so :func:`from_smp_state_dict` maps its
state dict onto this model one tensor for one tensor and the outputs agree. The encoder is
this project's ``ResNet`` (``models/resnet.py``) with torchvision's module names, so an
ImageNet ResNet state dict (``model.pretrained: torchvision:resnet50``) loads into it.

Data flow for an ``H x W`` image at output stride ``s`` (16 or 8), with ``w`` the encoder's
first-stage width (64), ``A`` ``aspp_channels``, ``L`` ``low_level_channels`` and ``D``
``decoder_channels``::

    image (B, C_in, H, W)
      -> encoder: stem and layer1 (B, 4w, H/4, W/4) ........... low-level features
                  layer2..layer4 (B, 32w, H/s, W/s) ........... high-level features
      -> ASPP: 1x1 | three separable 3x3 atrous (rates 6, 12, 18 at s=16) | image pooling
               -> concat (B, 5A, H/s, W/s) -> 1x1 projection, dropout -> separable 3x3
      -> upsample to H/4, concat with the low-level features projected by a 1x1 (B, A + L, ...)
      -> separable 3x3 (B, D, H/4, W/4) -> 1x1 head -> upsample to (B, num_classes, H, W)
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.input_checks import check_batch
from .registry import register_model
from .resnet import Bottleneck, ResNet, ResNetConfig

# Bottleneck ResNet encoders: blocks per stage and channels of the first stage (torchvision).
BACKBONES: dict[str, tuple[tuple[int, ...], int]] = {
    "resnet50": ((3, 4, 6, 3), 64),
    "resnet101": ((3, 4, 23, 3), 64),
    # The same code paths at a fraction of the size: the debug preset (tests, --fast-dev-run).
    "resnet_tiny": ((1, 1, 1, 1), 8),
}
# Which of layer2..layer4 trade their stride for dilation, per output stride.
DILATED_STAGES = {16: (False, False, True), 8: (False, True, True)}
# ASPP rates at output stride 16, doubled at 8 (DeepLabV3: Chen et al., 2017, Section 3.3).
ATROUS_RATES_AT_16 = (6, 12, 18)


@dataclass
class DeepLabV3PlusConfig:
    """Hyperparameters of a DeepLabV3+ segmenter (field names as in the project config).

    Attributes:
        in_channels: Image channels ``C_in``.
        num_classes: Output channels: one logit per class and pixel (1: binary segmentation,
            a single foreground logit).
        image_size: Side of the training crops; every input side must be a multiple of
            ``output_stride`` (inference windows use this size too).
        backbone: Encoder, a key of ``BACKBONES``: ``resnet50`` or ``resnet101``
            (torchvision's, ImageNet weights load into ``encoder``), or ``resnet_tiny``.
        output_stride: Input size over the encoder's output size, 16 or 8: the last stage
            (16) or the last two (8) replace their stride by dilation. 8 gives finer maps
            at about 3x the cost.
        aspp_channels: Channels of every ASPP branch and of its projection (256).
        decoder_channels: Channels of the decoder's fusion convolution (256).
        low_level_channels: Channels the low-level features are projected to (48: the
            paper's Table 1; few, so they do not outweigh the ASPP features).
        dropout: Dropout after the ASPP projection (0.5 as in segmentation_models_pytorch).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 21
    image_size: int = 512
    backbone: str = "resnet50"
    output_stride: int = 16
    aspp_channels: int = 256
    decoder_channels: int = 256
    low_level_channels: int = 48
    dropout: float = 0.5
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        sizes = ("in_channels", "num_classes", "image_size")
        widths = ("aspp_channels", "decoder_channels", "low_level_channels")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in sizes + widths
            if getattr(self, name) < 1
        ]
        if self.backbone not in BACKBONES:
            problems.append(f"backbone must be one of {tuple(BACKBONES)}, got {self.backbone!r}")
        if self.output_stride not in DILATED_STAGES:
            problems.append(f"output_stride must be 16 or 8, got {self.output_stride}")
        elif self.image_size % self.output_stride:
            problems.append(
                f"image_size={self.image_size} is not a multiple of output_stride="
                f"{self.output_stride}; use {nearest_sizes(self.image_size, self.output_stride)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if problems:
            raise ValueError("invalid DeepLabV3+ config: " + "; ".join(problems))

    @property
    def atrous_rates(self) -> tuple[int, int, int]:
        """Dilation rates of the three atrous ASPP branches: (6, 12, 18) at stride 16."""
        scale = 16 // self.output_stride
        low, middle, high = (rate * scale for rate in ATROUS_RATES_AT_16)
        return low, middle, high


def nearest_sizes(size: int, multiple: int) -> str:
    """Name the valid sizes on either side of ``size``.

    Args:
        size: An image side.
        multiple: The required multiple.

    Returns:
        E.g. ``"496 (crop) or 512 (pad)"`` for 500 and 16; ``"512"`` for 512.
    """
    if size % multiple == 0:
        return str(size)
    below, above = size - size % multiple, size - size % multiple + multiple
    return f"{below} (crop) or {above} (pad)" if below > 0 else f"{above} (pad)"


class ConvBNReLU(nn.Module):
    """A bias-free convolution, batch norm and ReLU.

    Shapes: ``(B, C_in, H, W) -> (B, C_out, H, W)`` (``padding`` keeps the size).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1) -> None:
        """Create the layer.

        Args:
            in_channels: Input channels.
            out_channels: Output channels.
            kernel_size: Odd kernel side; padded to keep the size.
        """
        super().__init__()
        padding = kernel_size // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, C_out, H, W)``.
        """
        return self.act(self.bn(self.conv(x)))


class SeparableConvBNReLU(nn.Module):
    """Depthwise separable 3x3 convolution (Chollet, 2017), batch norm and ReLU.

    A per-channel (optionally atrous) 3x3 convolution followed by a 1x1 convolution across
    channels: ``9 * C_in + C_in * C_out`` weights instead of ``9 * C_in * C_out``.
    Shapes: ``(B, C_in, H, W) -> (B, C_out, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1) -> None:
        """Create the layer.

        Args:
            in_channels: Input channels.
            out_channels: Output channels.
            dilation: Atrous rate of the depthwise convolution (padding keeps the size).
        """
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            3,
            padding=dilation,
            dilation=dilation,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, C_out, H, W)``.
        """
        return self.act(self.bn(self.pointwise(self.depthwise(x))))


class ImagePooling(nn.Module):
    """ASPP's image-level branch: global average pooling, 1x1 convolution, broadcast back.

    Shapes: ``(B, C_in, H, W) -> (B, C_out, H, W)``. Its batch norm sees one value per
    image and channel, so training needs at least two images per device.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        """Create the branch.

        Args:
            in_channels: Input channels.
            out_channels: Output channels.
        """
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Pool and broadcast.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            The same vector at every position, shape ``(B, C_out, H, W)``.
        """
        pooled = self.act(self.bn(self.conv(self.pool(x))))  # (B, C_out, 1, 1)
        # Bilinear upsampling of a 1x1 map is this broadcast.
        return pooled.expand(-1, -1, x.shape[-2], x.shape[-1])  # (B, C_out, H, W)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (Chen et al., 2017, Section 3.3), separable branches.

    Five parallel branches see the same map at growing fields of view: a 1x1 convolution,
    three separable 3x3 convolutions at the atrous rates, and the image-level pooling;
    their concatenation is projected back to ``channels`` by a 1x1 convolution.
    Shapes: ``(B, C_in, H, W) -> (B, channels, H, W)``;
    cost ``O(B * H * W * C_in * channels)`` (the 1x1 parts dominate).
    """

    def __init__(
        self, in_channels: int, channels: int, rates: tuple[int, int, int], dropout: float
    ) -> None:
        """Create the module.

        Args:
            in_channels: Channels of the encoder's last stage.
            channels: Channels of every branch and of the output.
            rates: Dilations of the three atrous branches.
            dropout: Dropout after the projection.
        """
        super().__init__()
        self.conv1x1 = ConvBNReLU(in_channels, channels)
        self.atrous = nn.ModuleList(
            SeparableConvBNReLU(in_channels, channels, rate) for rate in rates
        )
        self.pooling = ImagePooling(in_channels, channels)
        self.project = ConvBNReLU(5 * channels, channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the pyramid.

        Args:
            x: Encoder features of shape ``(B, C_in, H, W)``.

        Returns:
            Features of shape ``(B, channels, H, W)``.
        """
        branches = [self.conv1x1(x), *(branch(x) for branch in self.atrous), self.pooling(x)]
        x = torch.cat(branches, dim=1)  # (B, 5 * channels, H, W)
        return self.dropout(self.project(x))


class DeepLabV3PlusDecoder(nn.Module):
    """ASPP on the high-level features, fused with the low-level ones (Chen et al., 2018).

    Shapes: high ``(B, C_high, H/s, W/s)`` and low ``(B, C_low, H/4, W/4)`` ->
    ``(B, decoder_channels, H/4, W/4)``; ``A`` is ``aspp_channels``, ``L``
    ``low_level_channels``.
    """

    def __init__(self, high_channels: int, low_channels: int, config: DeepLabV3PlusConfig) -> None:
        """Create the decoder.

        Args:
            high_channels: Channels of the encoder's last stage.
            low_channels: Channels of the encoder's first stage.
            config: The model's hyperparameters.
        """
        super().__init__()
        aspp, low = config.aspp_channels, config.low_level_channels
        self.aspp = ASPP(high_channels, aspp, config.atrous_rates, config.dropout)
        self.aspp_conv = SeparableConvBNReLU(aspp, aspp)
        self.low_level = ConvBNReLU(low_channels, low)
        self.fuse = SeparableConvBNReLU(aspp + low, config.decoder_channels)

    def forward(self, high: Tensor, low: Tensor) -> Tensor:
        """Decode.

        Args:
            high: Encoder output of shape ``(B, C_high, H/s, W/s)``.
            low: Low-level features of shape ``(B, C_low, H/4, W/4)``.

        Returns:
            Features of shape ``(B, decoder_channels, H/4, W/4)``.
        """
        x = self.aspp_conv(self.aspp(high))  # (B, A, H/s, W/s)
        # align_corners=True as in the paper's code and segmentation_models_pytorch.
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=True)
        x = torch.cat([x, self.low_level(low)], dim=1)  # (B, A + L, H/4, W/4)
        return self.fuse(x)


class DeepLabV3Plus(nn.Module):
    """DeepLabV3+ semantic segmenter: ResNet encoder, ASPP decoder, 1x1 head.

    Shapes: ``(B, C_in, H, W) -> (B, num_classes, H, W)`` logits, for ``H`` and ``W``
    multiples of ``output_stride``. ResNet-50 has 26.7M parameters and costs about 37 GMACs
    per 512x512 image at output stride 16, 112 GMACs at 8; the cost grows with ``H * W``.
    """

    # Re-initialised when pretrained weights have another class count.
    pretrained_head = ("head",)

    def __init__(self, config: DeepLabV3PlusConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`DeepLabV3PlusConfig`.
        """
        super().__init__()
        self.config = config
        layers, width = BACKBONES[config.backbone]
        encoder_config = ResNetConfig(
            in_channels=config.in_channels,
            num_classes=1,  # its classifier is removed below
            image_size=config.image_size,
            block="bottleneck",
            layers=list(layers),
            base_width=width,
        )
        # segmentation_models_pytorch dilates every block of a dilated stage.
        self.encoder = ResNet(
            encoder_config,
            replace_stride_with_dilation=DILATED_STAGES[config.output_stride],
            dilate_first_block=True,
        )
        # A feature extractor: no pooling and no classifier (ImageNet's fc is not loaded).
        self.encoder.avgpool = nn.Identity()
        self.encoder.fc = nn.Identity()
        low_channels = width * Bottleneck.expansion  # layer1's output
        self.decoder = DeepLabV3PlusDecoder(8 * low_channels, low_channels, config)
        self.head = nn.Conv2d(config.decoder_channels, config.num_classes, 1)
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise the decoder and the head as segmentation_models_pytorch does.

        The encoder keeps ResNet's initialisation (or its pretrained weights): He-uniform
        (fan-in) decoder convolutions, unit batch norms, a Xavier-uniform head with zero bias.
        """
        for module in self.decoder.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.xavier_uniform_(self.head.weight)
        assert self.head.bias is not None
        nn.init.zeros_(self.head.bias)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the encoder blocks' activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the residual blocks while training.
        """
        self.encoder.set_grad_checkpointing(enable)

    def check_input(self, x: Tensor) -> None:
        """Check a batch's rank, channels and size before it enters the encoder.

        Args:
            x: Images, expected ``(B, C_in, H, W)`` with sides divisible by the output stride.

        Raises:
            ValueError: Naming the problem; for a size, the nearest valid sizes.
        """
        check_batch(x, layout="(B, C, H, W)", channels=self.config.in_channels)
        stride = self.config.output_stride
        height, width = x.shape[-2:]
        if height % stride or width % stride:
            raise ValueError(
                f"DeepLabV3+ needs image sides divisible by output_stride={stride}, got "
                f"{height}x{width}; height {nearest_sizes(height, stride)}, width "
                f"{nearest_sizes(width, stride)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """Segment images.

        Args:
            x: Images of shape ``(B, C_in, H, W)``, sides divisible by ``output_stride``.

        Returns:
            Logits of shape ``(B, num_classes, H, W)``.

        Raises:
            ValueError: If the rank, the channel count or the size is wrong.
        """
        self.check_input(x)
        stages = self.encoder.forward_stages(x)  # layer1 at H/4, ..., layer4 at H/s
        features = self.decoder(stages[-1], stages[0])  # (B, D, H/4, W/4)
        logits = self.head(features)  # (B, num_classes, H/4, W/4)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=True)

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Fit other layouts' state dicts to this model's keys, in place.

        Two sources are recognised: a segmentation_models_pytorch ``DeepLabV3Plus`` (renamed
        by :func:`from_smp_state_dict`), and a bare ImageNet ResNet of the same depth
        (torchvision or timm: loaded into ``encoder``, its ``fc`` dropped, the decoder and
        head kept at their initialisation). A state dict of this model is left unchanged.

        Args:
            state_dict: Pretrained tensors by name, each of its parameter's shape (e.g. a
                conv weight ``(C_out, C_in, k, k)``).

        Returns:
            One note per change, for the load report.
        """
        if any(key.startswith(_SMP_ONLY_PREFIXES) for key in state_dict):
            converted = from_smp_state_dict(state_dict)
            state_dict.clear()
            state_dict.update(converted)
            return ["renamed segmentation_models_pytorch keys (from_smp_state_dict)"]
        if "conv1.weight" not in state_dict or any(k.startswith("encoder.") for k in state_dict):
            return []
        backbone = {k: v for k, v in state_dict.items() if not k.startswith("fc.")}
        own = self.state_dict()
        state_dict.clear()
        state_dict.update({f"encoder.{key}": value for key, value in backbone.items()})
        kept = {k: v for k, v in own.items() if not k.startswith("encoder.")}
        state_dict.update(kept)
        return [
            f"ImageNet backbone: {len(backbone)} tensors loaded into encoder (fc dropped); "
            f"decoder and head ({len(kept)} tensors) keep their initialisation"
        ]


# segmentation_models_pytorch prefix -> this model's, for every module with weights.
_SMP_TO_OURS: tuple[tuple[str, str], ...] = (
    ("decoder.aspp.0.convs.0.0", "decoder.aspp.conv1x1.conv"),
    ("decoder.aspp.0.convs.0.1", "decoder.aspp.conv1x1.bn"),
    *(
        pair
        for index in range(3)
        for pair in (
            (f"decoder.aspp.0.convs.{index + 1}.0.0", f"decoder.aspp.atrous.{index}.depthwise"),
            (f"decoder.aspp.0.convs.{index + 1}.0.1", f"decoder.aspp.atrous.{index}.pointwise"),
            (f"decoder.aspp.0.convs.{index + 1}.1", f"decoder.aspp.atrous.{index}.bn"),
        )
    ),
    ("decoder.aspp.0.convs.4.1", "decoder.aspp.pooling.conv"),
    ("decoder.aspp.0.convs.4.2", "decoder.aspp.pooling.bn"),
    ("decoder.aspp.0.project.0", "decoder.aspp.project.conv"),
    ("decoder.aspp.0.project.1", "decoder.aspp.project.bn"),
    ("decoder.aspp.1.0", "decoder.aspp_conv.depthwise"),
    ("decoder.aspp.1.1", "decoder.aspp_conv.pointwise"),
    ("decoder.aspp.2", "decoder.aspp_conv.bn"),
    ("decoder.block1.0", "decoder.low_level.conv"),
    ("decoder.block1.1", "decoder.low_level.bn"),
    ("decoder.block2.0.0", "decoder.fuse.depthwise"),
    ("decoder.block2.0.1", "decoder.fuse.pointwise"),
    ("decoder.block2.1", "decoder.fuse.bn"),
    ("segmentation_head.0", "head"),
    ("encoder", "encoder"),  # the same torchvision ResNet names
)
_SMP_ONLY_PREFIXES = ("decoder.aspp.0.", "decoder.block1.", "segmentation_head.")


def from_smp_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename a segmentation_models_pytorch ``DeepLabV3Plus`` state dict to this model's keys.

    The source must use a ResNet encoder and separable ASPP (smp's defaults), with
    ``decoder_channels`` equal to this model's ``aspp_channels`` and ``decoder_channels``.

    Args:
        state_dict: smp's tensors by name, e.g. ``decoder.aspp.0.convs.1.0.0.weight`` of
            shape ``(C_in, 1, 3, 3)`` (a depthwise conv).

    Returns:
        The same tensors (not copied, shapes unchanged) under this model's names, in the
        same order.

    Raises:
        KeyError: Naming the keys that belong to no module of this model (e.g. an
            auxiliary classification head).
    """
    renamed, unknown = {}, []
    for key, value in state_dict.items():
        prefix = next((pair for pair in _SMP_TO_OURS if key.startswith(f"{pair[0]}.")), None)
        if prefix is None:
            unknown.append(key)
            continue
        renamed[prefix[1] + key.removeprefix(prefix[0])] = value
    if unknown:
        raise KeyError(f"keys with no DeepLabV3+ counterpart: {unknown[:8]}")
    return renamed


@register_model("deeplabv3plus")
def build_deeplabv3plus(cfg: dict[str, Any]) -> nn.Module:
    """Build a DeepLabV3+ from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`DeepLabV3PlusConfig` fields plus
            ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`DeepLabV3PlusConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return DeepLabV3Plus(DeepLabV3PlusConfig(**fields))
