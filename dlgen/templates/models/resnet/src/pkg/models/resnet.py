"""ResNet (He et al., 2016) for image classification, ImageNet and CIFAR styles.

``style="imagenet"`` (ResNet-18/34/50/101/152) follows torchvision's ``ResNet`` ("v1.5": the
stride of a bottleneck block is on its 3x3 convolution) with the same module names, so a
torchvision state dict loads with ``model.load_state_dict(state_dict)`` unchanged.
``style="cifar"`` (ResNet-20/32/44/56/110) follows Section 4.2 of the paper: a 3x3 stem and
three stages of ``n`` basic blocks with 16, 32 and 64 channels, depth ``6n + 2``.

Dense prediction (DeepLabV3+) builds the network with ``replace_stride_with_dilation`` (the
stride of a later stage becomes a dilation of its 3x3 convolutions, as in torchvision) and
reads every stage's output with :meth:`ResNet.forward_stages`; neither changes the weights.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.activations import get_activation
from ..layers.grad_checkpoint import run_blocks
from ..layers.input_checks import check_batch
from .registry import register_model

STAGES_PER_STYLE = {"imagenet": 4, "cifar": 3}
STEMS = ("standard", "small")
SHORTCUTS = ("A", "B")


@dataclass
class ResNetConfig:
    """Hyperparameters of a ResNet classifier (field names as in the project config).

    Attributes:
        in_channels: Image channels ``C``.
        num_classes: Number of output classes.
        image_size: Input height and width the data has; the network accepts any size
            (global average pooling), so this only documents the data.
        style: ``"imagenet"`` (four stages) or ``"cifar"`` (three stages, paper Section 4.2).
        block: ``"basic"`` (two 3x3 convolutions; ResNet-18/34 and CIFAR) or
            ``"bottleneck"`` (1x1, 3x3, 1x1 with 4x expansion; ResNet-50 and deeper).
        layers: Number of blocks in each stage, e.g. ``[3, 4, 6, 3]`` for ResNet-50.
        base_width: Channels of the first stage; each later stage doubles them.
        stem: ``"standard"``: 7x7 stride-2 convolution and 3x3 stride-2 max pool;
            ``"small"``: one 3x3 stride-1 convolution (for 32x32 inputs; CIFAR style).
        shortcut: Shortcut where a block changes the shape: ``"A"`` subsamples and zero-pads
            the channels (no parameters; the paper's CIFAR models), ``"B"`` is a 1x1
            convolution with batch norm (torchvision).
        zero_init_residual: Start the last batch norm of every residual branch at zero so
            each block begins as the identity (Goyal et al., 2017).
        dropout: Dropout before the classifier.
        activation: Activation after each batch norm (``"relu"`` in the paper).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 1000
    image_size: int = 224
    style: str = "imagenet"
    block: str = "bottleneck"
    layers: list[int] = field(default_factory=lambda: [3, 4, 6, 3])
    base_width: int = 64
    stem: str = "standard"
    shortcut: str = "B"
    zero_init_residual: bool = False
    dropout: float = 0.0
    activation: str = "relu"
    variant: str | None = None

    def __post_init__(self) -> None:
        """Normalise ``layers`` to a list of ints and check the values against each other.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        self.layers = [int(blocks) for blocks in self.layers]
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in ("in_channels", "num_classes", "image_size", "base_width")
            if getattr(self, name) < 1
        ]
        if self.style not in STAGES_PER_STYLE:
            problems.append(f"style must be one of {tuple(STAGES_PER_STYLE)}, got {self.style!r}")
        elif len(self.layers) != STAGES_PER_STYLE[self.style]:
            stages = STAGES_PER_STYLE[self.style]
            problems.append(f"style={self.style!r} needs {stages} entries in layers")
        if self.block not in BLOCKS:
            problems.append(f"block must be one of {tuple(BLOCKS)}, got {self.block!r}")
        if self.stem not in STEMS:
            problems.append(f"stem must be one of {STEMS}, got {self.stem!r}")
        if self.style == "cifar" and self.stem != "small":
            problems.append("style='cifar' uses the 3x3 stem: set stem='small'")
        if self.shortcut not in SHORTCUTS:
            problems.append(f"shortcut must be one of {SHORTCUTS}, got {self.shortcut!r}")
        if not self.layers or min(self.layers) < 1:
            problems.append(f"layers must be positive block counts, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if problems:
            raise ValueError("invalid ResNet config: " + "; ".join(problems))

    @property
    def depth(self) -> int:
        """Weighted layers: the stem, every convolution of the blocks and the classifier."""
        per_block = 3 if self.block == "bottleneck" else 2
        return per_block * sum(self.layers) + 2


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding ``dilation`` and no bias (a batch norm follows it).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Spatial stride.
        dilation: Spacing of the kernel taps (atrous convolution); 1 is a plain convolution.

    Returns:
        The convolution, ``(B, C_in, H, W) -> (B, C_out, H / stride, W / stride)``.
    """
    return nn.Conv2d(
        in_channels,
        out_channels,
        3,
        stride=stride,
        padding=dilation,
        dilation=dilation,
        bias=False,
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias (a batch norm follows it).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Spatial stride.

    Returns:
        The convolution, ``(B, C_in, H, W) -> (B, C_out, H / stride, W / stride)``.
    """
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option-A shortcut: subsample by the stride and zero-pad the new channels.

    Shapes: ``(B, C, H, W) -> (B, C_out, H / s, W / s)``; no parameters, ``O(numel)``.
    """

    def __init__(self, out_channels: int, stride: int) -> None:
        """Create the shortcut.

        Args:
            out_channels: Channels after padding; at least the input channels.
            stride: Spatial subsampling factor.
        """
        super().__init__()
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        """Subsample and pad.

        Args:
            x: Feature map of shape ``(B, C, H, W)``.

        Returns:
            Feature map of shape ``(B, C_out, H / s, W / s)``.
        """
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C, H/s, W/s)
        extra = self.out_channels - x.shape[1]
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))  # (B, C_out, H/s, W/s)


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The shortcut of a block that changes the shape.

    Args:
        kind: ``"A"`` (zero padding) or ``"B"`` (1x1 convolution and batch norm).
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Spatial stride of the block.

    Returns:
        A module mapping ``(B, C_in, H, W)`` to ``(B, C_out, H / stride, W / stride)``.
    """
    if kind == "A":
        return PadShortcut(out_channels, stride)
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34 and the CIFAR models).

    Shapes: ``(B, C_in, H, W) -> (B, width, H / s, W / s)``; cost ``O(B * H * W * width^2)``.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        activation: str = "relu",
        dilation: int = 1,
    ) -> None:
        """Create the block.

        Args:
            in_channels: Input channels.
            width: Output channels.
            stride: Stride of the first convolution.
            downsample: Shortcut used when the shape changes; identity when ``None``.
            activation: Activation after each batch norm.
            dilation: Dilation of both 3x3 convolutions.
        """
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride, dilation)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, dilation=dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.act = get_activation(activation, inplace=True)
        self.downsample = downsample

    def residual_norm(self) -> nn.BatchNorm2d:
        """Find the last batch norm of the residual branch.

        Returns:
            The norm whose weight ``zero_init_residual`` sets to zero.
        """
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, width, H / s, W / s)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity  # in place: saves one feature-map allocation per block
        return self.act(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, torchvision v1.5), 1x1 expand by 4, and a residual connection.

    Shapes: ``(B, C_in, H, W) -> (B, 4 * width, H / s, W / s)``;
    cost ``O(B * H * W * width * (C_in + 9 * width + 4 * width))``.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        activation: str = "relu",
        dilation: int = 1,
    ) -> None:
        """Create the block.

        Args:
            in_channels: Input channels.
            width: Inner channels; the output has ``4 * width``.
            stride: Stride of the 3x3 convolution.
            downsample: Shortcut used when the shape changes; identity when ``None``.
            activation: Activation after each batch norm.
            dilation: Dilation of the 3x3 convolution.
        """
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.act = get_activation(activation, inplace=True)
        self.downsample = downsample

    def residual_norm(self) -> nn.BatchNorm2d:
        """Find the last batch norm of the residual branch.

        Returns:
            The norm whose weight ``zero_init_residual`` sets to zero.
        """
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, 4 * width, H / s, W / s)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity  # in place: saves one feature-map allocation per block
        return self.act(out)


BLOCKS: dict[str, type[BasicBlock | Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet image classifier: stem, residual stages, global average pooling, linear head.

    Shapes: ``(B, C, H, W) -> (B, num_classes)`` for any ``H, W`` (the standard stem and the
    strided stages divide the size by 32 with four stages; the small stem by 4 with three).
    Complexity: ``O(B * sum_l H_l * W_l * C_in_l * C_out_l * k_l^2)`` over the convolutions;
    ResNet-50 at 224x224 is about 4.1 GMACs per image.
    """

    # Classifier module: re-initialised when pretrained weights have another class count.
    pretrained_head = ("fc",)

    def __init__(
        self,
        config: ResNetConfig,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        dilate_first_block: bool = False,
    ) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`ResNetConfig`.
            replace_stride_with_dilation: One flag per stage after the first (torchvision's
                argument): a flagged stage keeps the resolution (stride 1) and multiplies the
                dilation of its 3x3 convolutions by 2 instead, so ``[False, False, True]``
                gives output stride 16 and ``[False, True, True]`` 8 (Chen et al., 2017).
                None: every stage strides (the classifier).
            dilate_first_block: Give the first block of a dilated stage the stage's new
                dilation too, as segmentation_models_pytorch's encoders do; torchvision
                (False) keeps the previous dilation there.

        Raises:
            ValueError: If ``replace_stride_with_dilation`` has not one flag per later stage.
        """
        super().__init__()
        self.config = config
        self.grad_checkpointing = False
        width = config.base_width
        if config.stem == "small":
            self.conv1 = conv3x3(config.in_channels, width)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(config.in_channels, width, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.act = get_activation(config.activation, inplace=True)
        channels = width
        self.num_stages = len(config.layers)
        dilate = list(replace_stride_with_dilation or [False] * (self.num_stages - 1))
        if len(dilate) != self.num_stages - 1:
            raise ValueError(
                f"replace_stride_with_dilation needs {self.num_stages - 1} flags (one per stage "
                f"after the first), got {dilate}"
            )
        dilation = 1
        for index, blocks in enumerate(config.layers):
            stride, first_dilation = (1 if index == 0 else 2), dilation
            if index > 0 and dilate[index - 1]:
                dilation, stride = dilation * stride, 1
                first_dilation = dilation if dilate_first_block else first_dilation
            stage, channels = self._make_stage(
                channels, width * 2**index, blocks, stride, (first_dilation, dilation)
            )
            self.add_module(f"layer{index + 1}", stage)
        # Typed nn.Module: an encoder of a segmenter replaces both by nn.Identity.
        self.avgpool: nn.Module = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.fc: nn.Module = nn.Linear(channels, config.num_classes)
        self.init_weights()

    def _make_stage(
        self, in_channels: int, width: int, blocks: int, stride: int, dilations: tuple[int, int]
    ) -> tuple[nn.Sequential, int]:
        """Blocks of one stage; ``dilations`` is (first block, later blocks)."""
        block = BLOCKS[self.config.block]
        out_channels = width * block.expansion
        shortcut = None
        if stride != 1 or in_channels != out_channels:
            shortcut = make_shortcut(self.config.shortcut, in_channels, out_channels, stride)
        activation = self.config.activation
        first, later = dilations
        layers = [block(in_channels, width, stride, shortcut, activation, first)]
        layers += [
            block(out_channels, width, activation=activation, dilation=later)
            for _ in range(blocks - 1)
        ]
        return nn.Sequential(*layers), out_channels

    def init_weights(self) -> None:
        """He-normal (fan-out) convolutions, unit batch norms, optional zero residual norms."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.config.zero_init_residual:
            for module in self.modules():
                if isinstance(module, BasicBlock | Bottleneck):
                    nn.init.zeros_(module.residual_norm().weight)

    def stages(self) -> Iterator[nn.Sequential]:
        """Yield the residual stages in order (``layer1``, ``layer2``, ...).

        Yields:
            Each stage, an ``nn.Sequential`` of blocks.
        """
        for index in range(1, self.num_stages + 1):
            stage = getattr(self, f"layer{index}")
            assert isinstance(stage, nn.Sequential)
            yield stage

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each residual block's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the residual blocks while training.
        """
        self.grad_checkpointing = enable

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """Compute the feature map of every residual stage (the encoder of a segmenter).

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            One map per stage, ``(B, C_i, H_i, W_i)``; with the standard stem and no dilation
            ``H_i = H / 2**(i + 2)`` (strides 4, 8, 16, 32), a dilated stage keeps the size
            of the one before.

        Raises:
            ValueError: If the batch is empty or its rank or channel count is wrong.
        """
        check_batch(x, layout="(B, C, H, W)", channels=self.config.in_channels)
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        checkpointing = self.grad_checkpointing and self.training
        features = []
        for stage in self.stages():
            x = run_blocks(stage, x, checkpointing)
            features.append(x)
        return features

    def forward_features(self, x: Tensor) -> Tensor:
        """Compute the last stage's feature map.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Features of shape ``(B, C_last, H', W')``.

        Raises:
            ValueError: If the batch is empty or its rank or channel count is wrong.
        """
        return self.forward_stages(x)[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes)``.
        """
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (B, C_last)
        return self.fc(self.dropout(x))


@register_model("resnet")
def build_resnet(cfg: dict[str, Any]) -> nn.Module:
    """Build a ResNet from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`ResNetConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`ResNetConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return ResNet(ResNetConfig(**fields))
