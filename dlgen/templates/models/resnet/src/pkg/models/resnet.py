"""ResNet (He et al., 2016): ImageNet ResNet-18/34/50/101/152 and CIFAR ResNet-20/32/44/56/110.

The ImageNet models follow torchvision's ``ResNet`` ("v1.5": in bottleneck blocks the stride
is on the 3x3 convolution) with the same module names, so a torchvision state dict loads with
``model.load_state_dict(state_dict)`` unchanged. The CIFAR models follow Section 4.2 of the
paper: a 3x3 stem, three stages of ``n`` basic blocks with 16, 32 and 64 channels, depth
``6n + 2``.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.grad_checkpoint import run_blocks
from ..layers.input_checks import check_batch
from .registry import register_model

# depth -> blocks per stage, for the ImageNet models (He et al., 2016, Table 1).
IMAGENET_STAGES: dict[int, tuple[int, ...]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
BOTTLENECK_MIN_DEPTH = 50
STYLES = ("imagenet", "cifar")
SHORTCUTS = ("A", "B")


@dataclass
class ResNetConfig:
    """Hyperparameters of a ResNet classifier (field names as in the project config).

    Attributes:
        in_channels: Image channels ``C``.
        num_classes: Number of output classes.
        image_size: Input height and width; any size works (global average pooling), the
            value documents the data the model was configured for.
        depth: Number of weighted layers: 18, 34, 50, 101 or 152 for ``style="imagenet"``;
            ``6n + 2`` (20, 32, 44, 56, 110, ...) for ``style="cifar"``.
        style: ``"imagenet"``: 7x7 stride-2 stem, max pool, four stages from 64 channels;
            ``"cifar"``: 3x3 stem, three stages of 16, 32 and 64 channels.
        shortcut: CIFAR shortcut when the shape changes: ``"A"`` (parameter-free: subsample
            and zero-pad the channels, as in the paper's CIFAR table) or ``"B"`` (1x1
            convolution and batch norm). ImageNet models always use ``"B"``.
        zero_init_residual: Start the last batch norm of every residual branch at zero, so
            each block begins as the identity (Goyal et al., 2017).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 1000
    image_size: int = 224
    depth: int = 50
    style: str = "imagenet"
    shortcut: str = "A"
    zero_init_residual: bool = False
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in ("in_channels", "num_classes", "image_size")
            if getattr(self, name) < 1
        ]
        if self.style not in STYLES:
            problems.append(f"style must be one of {STYLES}, got {self.style!r}")
        if self.shortcut not in SHORTCUTS:
            problems.append(f"shortcut must be one of {SHORTCUTS}, got {self.shortcut!r}")
        if self.style == "imagenet" and self.depth not in IMAGENET_STAGES:
            problems.append(f"ImageNet ResNet depth must be one of {sorted(IMAGENET_STAGES)}")
        if self.style == "cifar" and (self.depth < 8 or (self.depth - 2) % 6):
            problems.append(f"CIFAR ResNet depth must be 6n + 2 with n >= 1, got {self.depth}")
        if problems:
            raise ValueError("invalid ResNet config: " + "; ".join(problems))

    @property
    def bottleneck(self) -> bool:
        """Whether the blocks are bottlenecks (ImageNet depth >= 50)."""
        return self.style == "imagenet" and self.depth >= BOTTLENECK_MIN_DEPTH

    @property
    def stage_blocks(self) -> tuple[int, ...]:
        """Number of blocks in each stage."""
        if self.style == "cifar":
            return ((self.depth - 2) // 6,) * 3
        return IMAGENET_STAGES[self.depth]

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Bottleneck (inner) width of each stage."""
        base = 16 if self.style == "cifar" else 64
        return tuple(base * 2**i for i in range(len(self.stage_blocks)))


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (a batch norm follows it)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias (a batch norm follows it)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option-A shortcut: subsample by the stride and zero-pad the new channels.

    Shapes: ``(B, C, H, W) -> (B, C_out, H / s, W / s)``; no parameters.
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


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Option-B shortcut: 1x1 convolution and batch norm, ``(B, C, H, W) -> (B, C_out, H/s, W/s)``."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34 and the CIFAR models).

    Shapes: ``(B, C_in, H, W) -> (B, width, H / s, W / s)``; cost ``O(B * H * W * width^2)``.
    """

    expansion = 1

    def __init__(
        self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        """Create the block.

        Args:
            in_channels: Input channels.
            width: Output channels.
            stride: Stride of the first convolution.
            downsample: Shortcut used when the shape changes; identity when ``None``.
        """
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def residual_norm(self) -> nn.BatchNorm2d:
        """The last batch norm of the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, width, H / s, W / s)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, torchvision v1.5), 1x1 expand by 4, with a residual connection.

    Shapes: ``(B, C_in, H, W) -> (B, 4 * width, H / s, W / s)``;
    cost ``O(B * H * W * width^2)``.
    """

    expansion = 4

    def __init__(
        self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        """Create the block.

        Args:
            in_channels: Input channels.
            width: Inner channels; the output has ``4 * width``.
            stride: Stride of the 3x3 convolution.
            downsample: Shortcut used when the shape changes; identity when ``None``.
        """
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual_norm(self) -> nn.BatchNorm2d:
        """The last batch norm of the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Feature map of shape ``(B, C_in, H, W)``.

        Returns:
            Feature map of shape ``(B, 4 * width, H / s, W / s)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet image classifier: stem, residual stages, global average pooling, linear head.

    Shapes: ``(B, C, H, W) -> (B, num_classes)`` for any ``H, W`` (the ImageNet stem divides
    the size by 32 over the network, the CIFAR stem by 4).
    Complexity: ``O(B * sum_l H_l * W_l * C_l^2)`` over the convolutions; ResNet-50 at 224x224
    is about 4.1 GMACs per image.
    """

    def __init__(self, config: ResNetConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`ResNetConfig`.
        """
        super().__init__()
        self.config = config
        self.grad_checkpointing = False
        block: type[BasicBlock | Bottleneck] = Bottleneck if config.bottleneck else BasicBlock
        stem = config.stage_widths[0]
        if config.style == "cifar":
            self.conv1 = conv3x3(config.in_channels, stem)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(config.in_channels, stem, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        channels = stem
        self.num_stages = len(config.stage_blocks)
        for index, (blocks, width) in enumerate(zip(config.stage_blocks, config.stage_widths)):
            stride = 1 if index == 0 else 2
            stage, channels = self._make_stage(block, channels, width, blocks, stride)
            self.add_module(f"layer{index + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, config.num_classes)
        self.init_weights()

    def _make_stage(
        self,
        block: type[BasicBlock | Bottleneck],
        in_channels: int,
        width: int,
        blocks: int,
        stride: int,
    ) -> tuple[nn.Sequential, int]:
        out_channels = width * block.expansion
        downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            use_padding = self.config.style == "cifar" and self.config.shortcut == "A"
            downsample = (
                PadShortcut(out_channels, stride)
                if use_padding
                else projection(in_channels, out_channels, stride)
            )
        layers = [block(in_channels, width, stride, downsample)]
        layers += [block(out_channels, width) for _ in range(blocks - 1)]
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
        """The residual stages in order (``layer1``, ``layer2``, ...)."""
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

    def forward_features(self, x: Tensor) -> Tensor:
        """Compute the last stage's feature map.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Features of shape ``(B, C_last, H', W')``.

        Raises:
            ValueError: If the batch is empty or its rank or channel count is wrong.
        """
        check_batch(x, layout="(B, C, H, W)", channels=self.config.in_channels)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        checkpointing = self.grad_checkpointing and self.training
        for stage in self.stages():
            x = run_blocks(stage, x, checkpointing)
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes)``.
        """
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (B, C_last)
        return self.fc(x)


@register_model("resnet")
def build_resnet(cfg: dict[str, Any]) -> nn.Module:
    """Build a ResNet from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`ResNetConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return ResNet(ResNetConfig(**fields))
