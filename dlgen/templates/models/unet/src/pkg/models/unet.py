"""U-Net (Ronneberger et al., 2015) for semantic segmentation, padded or as in the paper.

The network is an encoder (the contracting path: a double 3x3 convolution per level and a
2x2 max pool between levels), a decoder (the expansive path: up-sample by 2, concatenate
the encoder's features of the same level, double 3x3 convolution) and a 1x1 head.

``padding="same"`` (the default) pads every 3x3 convolution, so the logits have the
input's size; sides must be multiples of ``2**depth``. With batch norm and transposed
convolutions it is the network of milesial/Pytorch-UNet (31,037,763 parameters for 3
channels and 3 classes), and :meth:`UNet.adapt_pretrained` renames that repository's
state-dict keys, so its checkpoints load through ``model.pretrained``.

``padding="valid"`` is the paper's network (Fig. 1): unpadded convolutions with biases and
no normalisation, each taking a pixel off every border, and "crop and copy" skip connections
that centre-crop the encoder features to the decoder's size. The output is smaller than
the input (572 -> 388 at depth 4, 31,030,658 parameters for 1 channel and 2 classes); the
task centre-crops the masks to :meth:`UNet.output_size`. :func:`valid_output_size` and
:func:`nearest_valid_input` give the sizes that fit.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..layers.activations import get_activation
from ..layers.input_checks import check_batch
from .registry import register_model

PADDINGS = ("same", "valid")
# Pixels an unpadded 3x3 convolution takes off a side length (one at each border).
VALID_SHRINK = 2
# milesial/Pytorch-UNet's DoubleConv is nn.Sequential(conv, bn, relu, conv, bn, relu).
MILESIAL_LAYERS = {"0": "conv1", "1": "norm1", "3": "conv2", "4": "norm2"}


@dataclass
class UNetConfig:
    """Hyperparameters of a U-Net (field names as in the project config).

    Attributes:
        in_channels: Image channels ``C_in``.
        num_classes: Output channels ``K``: the number of classes, or 1 for binary
            segmentation (one foreground logit).
        image_size: Side of the square crops the data has; the network accepts any size
            that fits (see :meth:`UNet.output_size`), so this only documents the data.
        base_channels: Channels of the first level; each deeper level doubles them (64 in
            the paper: 64, 128, 256, 512, 1024).
        depth: Number of 2x2 max pools (and of up-sampling steps); 4 in the paper.
        bilinear: Up-sample by bilinear interpolation instead of a 2x2 transposed
            convolution; the bottom level and each decoder level then have half the
            channels (milesial/Pytorch-UNet's ``bilinear=True``).
        padding: ``"same"``: padded 3x3 convolutions, logits of the input's size, sides
            multiples of ``2**depth``. ``"valid"``: the paper's unpadded convolutions,
            smaller logits and centre-cropped skip features (572 -> 388 at depth 4).
        batch_norm: Batch norm after every 3x3 convolution (which then has no bias); the
            paper's network (``padding="valid"``) has none.
        dropout: Dropout at the end of the contracting path (paper Section 3.1), on the
            bottom level's features; 0 disables it.
        activation: Activation after every 3x3 convolution (``"relu"`` in the paper).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 2
    image_size: int = 256
    base_channels: int = 64
    depth: int = 4
    bilinear: bool = False
    padding: str = "same"
    batch_norm: bool = True
    dropout: float = 0.0
    activation: str = "relu"
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        sizes = ("in_channels", "num_classes", "image_size", "base_channels", "depth")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in sizes
            if getattr(self, name) < 1
        ]
        if self.padding not in PADDINGS:
            problems.append(f"padding must be one of {PADDINGS}, got {self.padding!r}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if problems:
            raise ValueError("invalid U-Net config: " + "; ".join(problems))

    @property
    def widths(self) -> list[int]:
        """Channels of each level's double convolution, top to bottom: ``base * 2**l``."""
        return [self.base_channels * 2**level for level in range(self.depth + 1)]


# Input and output sizes -----------------------------------------------------------------


def valid_output_size(size: int, depth: int) -> int | None:
    """Output side of a ``padding="valid"`` U-Net, or None when the input side does not fit.

    Each encoder level takes 4 pixels (two unpadded 3x3 convolutions) and its max pool
    halves the side, which must be even so the pool drops no row and the skip crop stays
    centred; the bottom takes 4; each decoder level doubles the side and takes 4. In
    closed form a fitting side is ``2**depth * k - 4`` and gives ``2**depth * (k - 12) + 4``.

    Args:
        size: Input side in pixels.
        depth: Number of max pools.

    Returns:
        The output side (572 -> 388 at depth 4), or None when a max-pool input is odd or a
        feature map would vanish.
    """
    for _ in range(depth):
        size -= 2 * VALID_SHRINK
        if size < 2 or size % 2:
            return None
        size //= 2
    size -= 2 * VALID_SHRINK
    for _ in range(depth):
        if size < 1:
            return None
        size = 2 * size - 2 * VALID_SHRINK
    return size if size >= 1 else None


def fits(size: int, depth: int, padding: str) -> bool:
    """Whether a U-Net of this depth and padding takes an input side.

    Args:
        size: Input side in pixels.
        depth: Number of max pools.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        True for a positive multiple of ``2**depth`` (same), or a side with an output
        (valid, see :func:`valid_output_size`).
    """
    if padding == "valid":
        return valid_output_size(size, depth) is not None
    return size >= 2**depth and size % 2**depth == 0


def nearest_valid_input(size: int, depth: int, padding: str = "valid") -> int:
    """The input side closest to ``size`` that fits, the larger one on a tie.

    Args:
        size: Any side in pixels.
        depth: Number of max pools.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        ``size`` itself when it fits; e.g. 570 -> 572 and 256 -> 252 at depth 4 (valid),
        250 -> 256 (same).
    """
    step = 2**depth
    offset = 2 * VALID_SHRINK if padding == "valid" else 0
    below = size - (size + offset) % step  # the largest side <= size of the right residue
    above = below if below == size else below + step
    while not fits(above, depth, padding):  # below the smallest side that fits
        above += step
    if below != above and fits(below, depth, padding) and size - below < above - size:
        return below
    return above


# Building blocks ------------------------------------------------------------------------


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by an optional batch norm and the activation.

    Shapes: ``(B, C_in, H, W) -> (B, C_out, H, W)`` padded, ``(B, C_out, H - 4, W - 4)``
    valid; cost ``O(B * H * W * 9 * C_mid * (C_in + C_out))``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: int | None = None,
        *,
        padding: str = "same",
        batch_norm: bool = True,
        activation: str = "relu",
    ) -> None:
        """Create the block.

        Args:
            in_channels: Input channels.
            out_channels: Output channels.
            mid_channels: Channels between the two convolutions; ``out_channels`` if None.
            padding: ``"same"`` (pad by 1) or ``"valid"`` (no padding).
            batch_norm: Batch norm after each convolution (then without bias).
            activation: Activation after each convolution (or batch norm).
        """
        mid_channels = mid_channels or out_channels
        pad = 1 if padding == "same" else 0
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        pairs = ((in_channels, mid_channels), (mid_channels, out_channels))
        for index, (c_in, c_out) in enumerate(pairs, start=1):
            layers[f"conv{index}"] = nn.Conv2d(c_in, c_out, 3, padding=pad, bias=not batch_norm)
            if batch_norm:
                layers[f"norm{index}"] = nn.BatchNorm2d(c_out)
            layers[f"act{index}"] = get_activation(activation, inplace=True)
        super().__init__(layers)


def center_crop(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Crop feature maps to ``size``, centred (the paper's "crop and copy").

    Args:
        x: Feature maps of shape ``(B, C, H, W)``.
        size: ``(H_out, W_out)``, at most ``(H, W)``.

    Returns:
        Feature maps of shape ``(B, C, H_out, W_out)``; ``x`` itself when the size is equal.
    """
    height, width = x.shape[-2:]
    out_h, out_w = size
    if (out_h, out_w) == (height, width):
        return x
    top, left = (height - out_h) // 2, (width - out_w) // 2
    return x[..., top : top + out_h, left : left + out_w]


def run_block(module: nn.Module, *inputs: Tensor, use_checkpoint: bool) -> Tensor:
    """Apply a module, recomputing its activations in the backward pass when asked.

    Args:
        module: The block.
        *inputs: Its inputs, feature maps ``(B, C, H, W)``.
        use_checkpoint: Checkpoint (ignored when gradients are disabled).

    Returns:
        The module's output ``(B, C', H', W')``.
    """
    if use_checkpoint and torch.is_grad_enabled():
        output = checkpoint(module, *inputs, use_reentrant=False)
        assert isinstance(output, Tensor)
        return output
    result = module(*inputs)
    assert isinstance(result, Tensor)
    return result


class UpBlock(nn.Module):
    """One decoder level: up-sample by 2, concatenate the skip features, double convolution.

    Shapes: ``(B, C_below, h, w)`` and skip ``(B, C_skip, H_s, W_s)`` ->
    ``(B, C_out, 2h, 2w)`` padded, ``(B, C_out, 2h - 4, 2w - 4)`` valid (the skip is
    centre-cropped to ``2h x 2w`` first).
    """

    def __init__(
        self,
        below_channels: int,
        skip_channels: int,
        out_channels: int,
        config: UNetConfig,
    ) -> None:
        """Create the block.

        Args:
            below_channels: Channels of the level below.
            skip_channels: Channels of the encoder features of this level.
            out_channels: Output channels.
            config: The model config (up-sampling, padding, norm, activation).
        """
        super().__init__()
        if config.bilinear:
            # milesial/Pytorch-UNet: interpolation keeps the channels, the first
            # convolution halves the concatenation.
            self.up: nn.Module = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            concat = skip_channels + below_channels
            mid = concat // 2
        else:
            # The paper's "up-convolution": a 2x2 transposed convolution halving the channels.
            self.up = nn.ConvTranspose2d(below_channels, below_channels // 2, 2, stride=2)
            concat = skip_channels + below_channels // 2
            mid = out_channels
        self.conv = DoubleConv(
            concat,
            out_channels,
            mid,
            padding=config.padding,
            batch_norm=config.batch_norm,
            activation=config.activation,
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: Features of the level below, ``(B, C_below, h, w)``.
            skip: Encoder features of this level, ``(B, C_skip, H_s, W_s)``, at least
                ``2h x 2w``.

        Returns:
            Features of shape ``(B, C_out, H', W')``.
        """
        x = self.up(x)  # (B, C_up, 2h, 2w)
        skip = center_crop(skip, (x.shape[-2], x.shape[-1]))  # (B, C_skip, 2h, 2w)
        x = torch.cat([skip, x], dim=1)  # (B, C_skip + C_up, 2h, 2w), skip first as milesial
        return self.conv(x)


class UNetEncoder(nn.Module):
    """The contracting path: a double convolution per level, 2x2 max pools between levels.

    Shapes: ``(B, C_in, H, W)`` -> one map per level, ``(B, width_l, H_l, W_l)`` with
    ``H_l = H / 2**l`` padded.
    """

    def __init__(self, config: UNetConfig) -> None:
        """Create the encoder.

        Args:
            config: The model config.
        """
        super().__init__()
        widths = config.widths
        outputs = [*widths[:-1], widths[-1] // 2 if config.bilinear else widths[-1]]
        inputs = [config.in_channels, *outputs[:-1]]
        self.levels = nn.ModuleList(
            DoubleConv(
                c_in,
                c_out,
                padding=config.padding,
                batch_norm=config.batch_norm,
                activation=config.activation,
            )
            for c_in, c_out in zip(inputs, outputs, strict=True)
        )
        self.out_channels = outputs
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()

    def forward(self, x: Tensor, use_checkpoint: bool = False) -> list[Tensor]:
        """Compute every level's features.

        Args:
            x: Images of shape ``(B, C_in, H, W)``.
            use_checkpoint: Recompute each level's activations in the backward pass.

        Returns:
            ``depth + 1`` maps, top level first; the last (the bottom) after dropout.
        """
        features = []
        for index, level in enumerate(self.levels):
            if index > 0:
                x = self.pool(x)  # (B, C, H_l, W_l): the side halves
            x = run_block(level, x, use_checkpoint=use_checkpoint)
            features.append(x)
        features[-1] = self.dropout(features[-1])
        return features


class UNetDecoder(nn.Module):
    """The expansive path: one :class:`UpBlock` per level, bottom first.

    Shapes: the encoder's maps -> ``(B, width_0, H_out, W_out)``.
    """

    def __init__(self, config: UNetConfig, encoder_channels: list[int]) -> None:
        """Create the decoder.

        Args:
            config: The model config.
            encoder_channels: Output channels of each encoder level, top first.
        """
        super().__init__()
        widths = config.widths
        blocks = []
        below = encoder_channels[-1]
        for level in range(config.depth - 1, -1, -1):
            halve = config.bilinear and level > 0
            out = widths[level] // 2 if halve else widths[level]
            blocks.append(UpBlock(below, encoder_channels[level], out, config))
            below = out
        self.levels = nn.ModuleList(blocks)
        self.out_channels = below

    def forward(self, features: list[Tensor], use_checkpoint: bool = False) -> Tensor:
        """Up-sample the bottom features back to the top level.

        Args:
            features: The encoder's maps, top level first.
            use_checkpoint: Recompute each level's activations in the backward pass.

        Returns:
            Features of shape ``(B, width_0, H_out, W_out)``.
        """
        x = features[-1]
        for block, skip in zip(self.levels, reversed(features[:-1]), strict=True):
            x = run_block(block, x, skip, use_checkpoint=use_checkpoint)
        return x


# The model ------------------------------------------------------------------------------


class UNet(nn.Module):
    """U-Net: encoder, decoder and a 1x1 convolution to per-pixel class logits.

    Shapes: ``(B, C_in, H, W) -> (B, num_classes, H_out, W_out)`` with ``(H_out, W_out)``
    from :meth:`output_size`: the input's size padded, smaller valid.
    Complexity: every level costs about the same, ``O(B * H * W * 9 * base_channels^2)``
    (the channels double as the area quarters), so ``O(depth)`` times that in all; the
    default network at 256x256 is about 48 GMACs per image.
    """

    # Classifier module: re-initialised when pretrained weights have another class count.
    pretrained_head = ("head",)

    def __init__(self, config: UNetConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`UNetConfig`.
        """
        super().__init__()
        self.config = config
        self.grad_checkpointing = False
        self.encoder = UNetEncoder(config)
        self.decoder = UNetDecoder(config, self.encoder.out_channels)
        self.head = nn.Conv2d(self.decoder.out_channels, config.num_classes, 1)
        self.init_weights()

    def init_weights(self) -> None:
        """Gaussian weights of std ``sqrt(2 / N)``, N the inputs of one unit (paper Sec. 3)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.ConvTranspose2d):
                # Each output pixel of a 2x2 stride-2 up-convolution sees one tap per
                # input channel: N = C_in (PyTorch's fan computation assumes a convolution).
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / module.in_channels))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.BatchNorm2d):
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Size of the logits for an input size (the task crops the masks to it).

        Args:
            height: Input height ``H``.
            width: Input width ``W``.

        Returns:
            ``(H, W)`` padded; ``(H_out, W_out)`` valid, e.g. ``(388, 388)`` for 572x572 at
            depth 4.

        Raises:
            ValueError: If a side does not fit; the message names the nearest size that does.
        """
        depth, padding = self.config.depth, self.config.padding
        if not (fits(height, depth, padding) and fits(width, depth, padding)):
            raise ValueError(size_message(height, width, depth, padding))
        if padding == "same":
            return height, width
        out_h, out_w = valid_output_size(height, depth), valid_output_size(width, depth)
        assert out_h is not None and out_w is not None
        return out_h, out_w

    def check_input(self, x: Tensor) -> None:
        """Check a batch's rank, channels and size before it enters the encoder.

        Args:
            x: Images, expected ``(B, C_in, H, W)`` with sides that fit.

        Raises:
            ValueError: Naming the problem; for a size, the nearest valid size.
        """
        check_batch(x, layout="(B, C, H, W)", channels=self.config.in_channels)
        self.output_size(x.shape[-2], x.shape[-1])

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each level's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the levels while training.
        """
        self.grad_checkpointing = enable

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Rename a milesial/Pytorch-UNet state dict's keys to this model's, in place.

        Args:
            state_dict: Pretrained tensors by name (each of its parameter's shape, e.g. a
                conv weight ``(C_out, C_in, 3, 3)``); other state dicts are left unchanged.

        Returns:
            A note for the load report when keys were renamed, else nothing.
        """
        if not any(key.startswith("inc.double_conv.") for key in state_dict):
            return []
        renamed = {milesial_key(key): value for key, value in state_dict.items()}
        state_dict.clear()
        state_dict.update(renamed)
        return [f"renamed {len(renamed)} milesial/Pytorch-UNet keys"]

    def forward(self, x: Tensor) -> Tensor:
        """Segment images.

        Args:
            x: Images of shape ``(B, C_in, H, W)``; sides that fit (see :meth:`output_size`).

        Returns:
            Logits of shape ``(B, num_classes, H_out, W_out)``.

        Raises:
            ValueError: If the rank, the channels or the size do not fit.
        """
        self.check_input(x)
        checkpointing = self.grad_checkpointing and self.training
        features = self.encoder(x, use_checkpoint=checkpointing)  # depth + 1 maps
        x = self.decoder(features, use_checkpoint=checkpointing)  # (B, width_0, H', W')
        return self.head(x)  # (B, K, H', W')


def size_message(height: int, width: int, depth: int, padding: str) -> str:
    """The error for an input size that does not fit, naming the nearest one that does.

    Args:
        height: Input height.
        width: Input width.
        depth: Number of max pools.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        One sentence, e.g. ``U-Net input 570x570 does not pool evenly ...; the nearest
        valid size is 572x572 (output 388x388)``.
    """
    near_h = nearest_valid_input(height, depth, padding)
    near_w = nearest_valid_input(width, depth, padding)
    if padding == "same":
        problem = f"is not divisible by 2**depth={2**depth} (padding='same', depth={depth})"
        output = ""
    else:
        problem = (
            f"does not pool evenly at every level with padding='valid' (depth={depth}: sides "
            f"of the form {2**depth}k - 4, e.g. 572 -> 388 at depth 4)"
        )
        output = f" (output {valid_output_size(near_h, depth)}x{valid_output_size(near_w, depth)})"
    return (
        f"U-Net input {height}x{width} {problem}; the nearest valid size is "
        f"{near_h}x{near_w}{output}"
    )


def milesial_key(key: str) -> str:
    """The name of a milesial/Pytorch-UNet state-dict key in this model.

    Args:
        key: E.g. ``down2.maxpool_conv.1.double_conv.4.running_var`` or ``up1.up.weight``.

    Returns:
        E.g. ``encoder.levels.2.norm2.running_var`` or ``decoder.levels.0.up.weight``;
        other keys unchanged.
    """
    key = re.sub(r"^inc\.", "encoder.levels.0.", key)
    key = re.sub(r"^down(\d+)\.maxpool_conv\.1\.", r"encoder.levels.\1.", key)
    key = re.sub(r"^up(\d+)\.", lambda match: f"decoder.levels.{int(match[1]) - 1}.", key)
    key = re.sub(r"^outc\.conv\.", "head.", key)
    return re.sub(r"double_conv\.(\d)\.", lambda match: f"{MILESIAL_LAYERS[match[1]]}.", key)


@register_model("unet")
def build_unet(cfg: dict[str, Any]) -> nn.Module:
    """Build a U-Net from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`UNetConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`UNetConfig` field.
        ValueError: If a value is invalid (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return UNet(UNetConfig(**fields))
