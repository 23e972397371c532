"""SegFormer (Xie et al., 2021): a Mix Transformer encoder and an all-MLP decoder, B0-B5.

The layers follow Hugging Face's ``SegformerForSemanticSegmentation`` (LayerNorms of eps 1e-5,
the same order of the decoder's concatenation, the same parameter count: B0 with 150 classes
has 3,752,694), so :func:`from_hf_state_dict` maps its state dict onto this model (keys
renamed, key and value projections fused) and the logits agree. The module names are the
authors' (``attn.q``, ``attn.kv``, ``attn.sr``, ``mlp.dwconv``, ...).

Data flow for an ``H x W`` image, with ``C_i`` ``embed_dims[i]``, ``R_i`` ``sr_ratios[i]``
and ``D`` ``decoder_dim``::

    image (B, C_in, H, W)
      -> stage 1: overlapping patch embedding 7x7 stride 4 (B, H/4 * W/4, C_1) and LayerNorm
                  depths[0] x [efficient self-attention (keys and values from an R_1 x R_1
                  strided convolution), Mix-FFN (3x3 depthwise convolution)], LayerNorm
                  -> (B, C_1, H/4, W/4)
      -> stages 2..4: the same after a 3x3 stride-2 embedding -> (B, C_i, H/2^(i+1), W/2^(i+1))
      -> decoder: each stage linear to D, upsampled to H/4, concatenated (deepest first)
                  (B, 4D, H/4, W/4) -> 1x1 convolution, batch norm, ReLU (B, D, H/4, W/4)
      -> dropout, 1x1 classifier (B, num_classes, H/4, W/4)   <- forward_logits_quarter
      -> bilinear upsampling (B, num_classes, H, W)             <- forward

Input sizes: any. The padded embedding convolutions round every side up at each stride
(``ceil(H / 4)``, then halved and rounded up), as in the paper's code, so sides need not be
multiples of 32 (multiples of 32 keep the stages exactly aligned). The only limit is a
smallest side: each stage's ``R_i x R_i`` reduction must see at least one ``R_i x R_i``
window, i.e. ``H >= (R_i - 1) * stride_i + 1`` (29 pixels for ``sr_ratios`` 8, 4, 2, 1);
smaller images fail with a clear error (:func:`min_input_side`).
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..layers.drop_path import DropPath
from ..layers.input_checks import check_batch
from .registry import register_model

NUM_STAGES = 4
# Overlapping patch embeddings (paper Section 3.1): kernel K, stride S, padding K // 2.
PATCH_KERNELS = (7, 3, 3, 3)
PATCH_STRIDES = (4, 2, 2, 2)
# Total stride of each stage's output: 4, 8, 16, 32.
STAGE_STRIDES = tuple(math.prod(PATCH_STRIDES[: index + 1]) for index in range(NUM_STAGES))
_STAGE_LISTS = ("embed_dims", "depths", "num_heads", "sr_ratios")


def min_input_side(sr_ratios: Sequence[int]) -> int:
    """The smallest image side every stage's sequence reduction accepts.

    Stage ``i`` sees ``ceil(H / stride_i)`` rows and its ``R_i x R_i`` reduction convolution
    (stride ``R_i``, no padding) needs at least ``R_i`` of them.

    Args:
        sr_ratios: Reduction ratio of each stage.

    Returns:
        The side in pixels, e.g. 29 for ``[8, 4, 2, 1]``.
    """
    return max(
        (ratio - 1) * stride + 1 for ratio, stride in zip(sr_ratios, STAGE_STRIDES, strict=True)
    )


@dataclass
class SegFormerConfig:
    """Hyperparameters of a SegFormer segmenter (field names as in the project config).

    The catalog's B0-B5 share ``num_heads`` (1, 2, 5, 8), ``sr_ratios`` (8, 4, 2, 1) and
    ``mlp_ratio`` 4; B0 has ``embed_dims`` (32, 64, 160, 256), B1-B5 (64, 128, 320, 512);
    ``depths`` grow from (2, 2, 2, 2) (B0, B1) to (3, 6, 40, 3) (B5); ``decoder_dim`` is 256
    for B0 and B1, 768 from B2.

    Attributes:
        in_channels: Image channels ``C_in``.
        num_classes: Output channels: one logit per class and pixel (1: binary segmentation,
            a single foreground logit).
        image_size: Side of the training crops. Any input side of at least
            :func:`min_input_side` works; this one is only checked against that minimum.
        embed_dims: Channels ``C_i`` of the four encoder stages.
        depths: Transformer blocks per stage.
        num_heads: Attention heads per stage; each must divide its ``embed_dims`` entry.
        sr_ratios: Sequence-reduction ratio ``R_i`` of each stage's efficient
            self-attention: keys and values come from an ``R_i``-times smaller grid, which
            divides the attention cost by ``R_i^2`` (paper Eq. 2). 1: plain attention.
        mlp_ratio: Hidden channels of the Mix-FFN relative to ``C_i``.
        decoder_dim: Channels ``D`` of the all-MLP decoder.
        dropout: Dropout before the classifier (0.1 in the paper).
        drop_path: Stochastic depth rate of the last block, linearly increasing from 0 over
            all blocks of the encoder (0.1 in the paper).
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 150
    image_size: int = 512
    embed_dims: list[int] = field(default_factory=lambda: [32, 64, 160, 256])
    depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    num_heads: list[int] = field(default_factory=lambda: [1, 2, 5, 8])
    sr_ratios: list[int] = field(default_factory=lambda: [8, 4, 2, 1])
    mlp_ratio: int = 4
    decoder_dim: int = 256
    dropout: float = 0.1
    drop_path: float = 0.1
    variant: str | None = None

    def __post_init__(self) -> None:
        """Normalise the per-stage lists to lists of ints and check the values.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        for name in _STAGE_LISTS:
            setattr(self, name, [int(value) for value in getattr(self, name)])
        sizes = ("in_channels", "num_classes", "image_size", "mlp_ratio", "decoder_dim")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in sizes
            if getattr(self, name) < 1
        ]
        for name in _STAGE_LISTS:
            values = getattr(self, name)
            if len(values) != NUM_STAGES or min(values, default=0) < 1:
                problems.append(
                    f"{name} needs {NUM_STAGES} positive integers (one per stage), got {values}"
                )
        problems += [
            f"num_heads={heads} must divide embed_dims={dim} (stage {index + 1})"
            for index, (dim, heads) in enumerate(zip(self.embed_dims, self.num_heads, strict=False))
            if heads > 0 and dim % heads
        ]
        problems += [
            f"{name} must be in [0, 1), got {getattr(self, name)}"
            for name in ("dropout", "drop_path")
            if not 0.0 <= getattr(self, name) < 1.0
        ]
        if len(self.sr_ratios) == NUM_STAGES and min(self.sr_ratios) >= 1:
            minimum = min_input_side(self.sr_ratios)
            if self.image_size < minimum:
                problems.append(
                    f"image_size={self.image_size} is below the {minimum} pixels "
                    f"sr_ratios={self.sr_ratios} need; use larger crops or lower sr_ratios"
                )
        if problems:
            raise ValueError("invalid SegFormer config: " + "; ".join(problems))


class OverlapPatchEmbed(nn.Module):
    """Overlapping patch embedding: a padded strided convolution and a LayerNorm (Sec. 3.1).

    Unlike ViT's patches, the ``K x K`` windows overlap (``K > S``), which keeps the local
    continuity around patch borders. Shapes: ``(B, C_in, H, W) -> (B, h * w, D)`` with
    ``h = ceil(H / S)``, ``w = ceil(W / S)``; cost ``O(B * h * w * K^2 * C_in * D)``.
    """

    def __init__(self, in_channels: int, dim: int, kernel_size: int, stride: int) -> None:
        """Create the layer.

        Args:
            in_channels: Input channels ``C_in``.
            dim: Token dimension ``D``.
            kernel_size: Odd window side ``K``.
            stride: Stride ``S``.
        """
        super().__init__()
        self.proj = nn.Conv2d(
            in_channels, dim, kernel_size, stride=stride, padding=kernel_size // 2
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        """Embed the image or feature map.

        Args:
            x: Map of shape ``(B, C_in, H, W)``.

        Returns:
            Tokens ``(B, h * w, D)`` in row-major order, and the grid size ``(h, w)``.
        """
        x = self.proj(x)  # (B, D, h, w)
        height, width = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)  # (B, h*w, D)
        return self.norm(x), (height, width)


class EfficientSelfAttention(nn.Module):
    """Multi-head self-attention with sequence reduction (paper Eq. 1-2, from PVT).

    The queries are all ``N = h * w`` tokens; the keys and values come from the grid shrunk
    by an ``R x R`` convolution with stride ``R`` and a LayerNorm, ``M = N / R^2`` tokens,
    so the attention costs ``O(B * N * M * D)`` instead of ``O(B * N^2 * D)``.
    Shapes: ``(B, N, D) -> (B, N, D)``.
    """

    def __init__(self, dim: int, num_heads: int, sr_ratio: int) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D``.
            num_heads: Heads; must divide ``dim``.
            sr_ratio: Reduction ratio ``R``; 1: plain self-attention (no reduction layers).

        Raises:
            ValueError: If ``num_heads`` does not divide ``dim``.
        """
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide dim={dim}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q = nn.Linear(dim, dim)
        # Keys and values in one projection (the authors' code); Hugging Face has two.
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.sr: nn.Conv2d | None = None
        self.sr_norm: nn.LayerNorm | None = None
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio)
            self.sr_norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """Attend every token to the reduced grid.

        Args:
            x: Tokens of shape ``(B, N, D)``, row-major over the grid.
            size: The grid ``(h, w)``, ``N = h * w``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        batch, tokens, dim = x.shape
        q = self.q(x).reshape(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)
        # q: (B, heads, N, D/heads)
        if self.sr is not None and self.sr_norm is not None:
            grid = x.transpose(1, 2).reshape(batch, dim, *size)  # (B, D, h, w)
            grid = self.sr(grid)  # (B, D, h/R, w/R)
            x = self.sr_norm(grid.flatten(2).transpose(1, 2))  # (B, M, D)
        kv = self.kv(x).reshape(batch, -1, 2, self.num_heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # 2 x (B, heads, M, D/heads)
        x = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, D/heads)
        x = x.transpose(1, 2).reshape(batch, tokens, dim)  # (B, N, D)
        return self.proj(x)


class MixFFN(nn.Module):
    """Mix-FFN (paper Eq. 3): ``fc2(GELU(DWConv3x3(fc1(x))))``.

    The 3x3 depthwise convolution leaks positional information through its zero padding,
    which replaces position embeddings, so any input size works. Shapes:
    ``(B, N, D) -> (B, N, D)``; cost ``O(B * N * D * D_hidden)``.
    """

    def __init__(self, dim: int, hidden_dim: int) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D``.
            hidden_dim: Hidden channels (``mlp_ratio * D``).
        """
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.dwconv = nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1, groups=hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """Apply the network.

        Args:
            x: Tokens of shape ``(B, N, D)``, row-major over the grid.
            size: The grid ``(h, w)``, ``N = h * w``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        x = self.fc1(x)  # (B, N, D_hidden)
        batch, tokens, hidden = x.shape
        x = self.dwconv(x.transpose(1, 2).reshape(batch, hidden, *size))  # (B, D_hidden, h, w)
        x = self.act(x.flatten(2).transpose(1, 2))  # (B, N, D_hidden)
        return self.fc2(x)


class MixBlock(nn.Module):
    """Pre-norm transformer block: efficient self-attention and Mix-FFN, each residual.

    Shapes: ``(B, N, D) -> (B, N, D)``.
    """

    def __init__(
        self, dim: int, num_heads: int, sr_ratio: int, mlp_ratio: int, drop_path: float
    ) -> None:
        """Create the block.

        Args:
            dim: Token dimension ``D``.
            num_heads: Attention heads.
            sr_ratio: Sequence-reduction ratio of the attention.
            mlp_ratio: Hidden channels of the Mix-FFN relative to ``D``.
            drop_path: Stochastic depth probability of both residual branches.
        """
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = EfficientSelfAttention(dim, num_heads, sr_ratio)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MixFFN(dim, dim * mlp_ratio)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """Apply the block.

        Args:
            x: Tokens of shape ``(B, N, D)``.
            size: The grid ``(h, w)``, ``N = h * w``.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        x = x + self.drop_path(self.attn(self.norm1(x), size))
        return x + self.drop_path(self.mlp(self.norm2(x), size))


class MixStage(nn.Module):
    """One encoder stage: overlapping patch embedding, blocks, LayerNorm, back to a map.

    Shapes: ``(B, C_in, H, W) -> (B, D, ceil(H / S), ceil(W / S))``.
    """

    def __init__(
        self, in_channels: int, index: int, config: SegFormerConfig, drop_paths: Sequence[float]
    ) -> None:
        """Create the stage.

        Args:
            in_channels: Channels of the image (first stage) or the previous stage.
            index: Stage index, 0 to 3.
            config: The model's hyperparameters.
            drop_paths: Stochastic depth probability of each of the stage's blocks.
        """
        super().__init__()
        dim = config.embed_dims[index]
        self.patch_embed = OverlapPatchEmbed(
            in_channels, dim, PATCH_KERNELS[index], PATCH_STRIDES[index]
        )
        self.blocks = nn.ModuleList(
            MixBlock(dim, config.num_heads[index], config.sr_ratios[index], config.mlp_ratio, rate)
            for rate in drop_paths
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, use_checkpoint: bool = False) -> Tensor:
        """Apply the stage.

        Args:
            x: Map of shape ``(B, C_in, H, W)``.
            use_checkpoint: Recompute each block's activations in the backward pass.

        Returns:
            Map of shape ``(B, D, h, w)``.
        """
        x, size = self.patch_embed(x)  # (B, h*w, D)
        checkpointing = use_checkpoint and torch.is_grad_enabled()
        for block in self.blocks:
            x = checkpoint(block, x, size, use_reentrant=False) if checkpointing else block(x, size)
        x = self.norm(x)
        return x.transpose(1, 2).reshape(x.shape[0], -1, *size)  # (B, D, h, w)


class MixTransformer(nn.Module):
    """The Mix Transformer encoder (MiT): four stages at strides 4, 8, 16 and 32.

    Shapes: ``(B, C_in, H, W)`` -> four maps ``(B, C_i, H / s_i, W / s_i)`` (sides rounded
    up); cost ``O(B * sum_i N_i * C_i * (N_i / R_i^2 + C_i))`` over the blocks.
    """

    def __init__(self, config: SegFormerConfig) -> None:
        """Build the encoder.

        Args:
            config: The hyperparameters; see :class:`SegFormerConfig`.
        """
        super().__init__()
        total = sum(config.depths)
        rates = [config.drop_path * i / max(total - 1, 1) for i in range(total)]
        stages = []
        channels = config.in_channels
        for index, depth in enumerate(config.depths):
            start = sum(config.depths[:index])
            stages.append(MixStage(channels, index, config, rates[start : start + depth]))
            channels = config.embed_dims[index]
        self.stages = nn.ModuleList(stages)
        self.grad_checkpointing = False

    def forward(self, x: Tensor) -> list[Tensor]:
        """Compute every stage's feature map.

        Args:
            x: Images of shape ``(B, C_in, H, W)``.

        Returns:
            Four maps, ``(B, C_i, H_i, W_i)`` with ``H_1 = ceil(H / 4)`` and
            ``H_{i+1} = ceil(H_i / 2)``.
        """
        features = []
        checkpointing = self.grad_checkpointing and self.training
        for stage in self.stages:
            x = stage(x, checkpointing)
            features.append(x)
        return features


class AllMLPDecoder(nn.Module):
    """The all-MLP decoder (paper Eq. 4) up to the fused features (the classifier is apart).

    Each stage's map is projected to ``D`` channels by a linear layer, upsampled bilinearly
    to the first stage's size, and the four are concatenated (deepest first, as in the
    paper's code) and fused by a 1x1 convolution, batch norm and ReLU.
    Shapes: four ``(B, C_i, H_i, W_i)`` -> ``(B, D, H_1, W_1)``;
    cost ``O(B * H_1 * W_1 * D * (4 D + sum_i C_i / 4^i))``.
    """

    def __init__(self, in_channels: Sequence[int], dim: int) -> None:
        """Create the decoder.

        Args:
            in_channels: Channels of each encoder stage.
            dim: The decoder's channels ``D``.
        """
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(channels, dim) for channels in in_channels)
        self.fuse = nn.Conv2d(len(in_channels) * dim, dim, 1, bias=False)
        self.norm = nn.BatchNorm2d(dim)
        self.act = nn.ReLU(inplace=True)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Decode.

        Args:
            features: The encoder's maps, ``(B, C_i, H_i, W_i)``, the first the largest.

        Returns:
            Fused features of shape ``(B, D, H_1, W_1)``.
        """
        size = features[0].shape[-2:]
        maps = []
        for feature, proj in zip(features, self.proj, strict=True):
            batch, _, height, width = feature.shape
            x = proj(feature.flatten(2).transpose(1, 2))  # (B, H_i*W_i, D)
            x = x.transpose(1, 2).reshape(batch, -1, height, width)  # (B, D, H_i, W_i)
            if x.shape[-2:] != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            maps.append(x)  # (B, D, H_1, W_1)
        x = torch.cat(maps[::-1], dim=1)  # (B, 4D, H_1, W_1), the deepest stage first
        return self.act(self.norm(self.fuse(x)))


class SegFormer(nn.Module):
    """SegFormer semantic segmenter: Mix Transformer encoder, all-MLP decoder, 1x1 classifier.

    Shapes: ``(B, C_in, H, W) -> (B, num_classes, H, W)`` logits for any ``H, W`` of at
    least :func:`min_input_side`. B0 has 3.75M parameters with 150 classes and costs about
    8.4 GMACs per 512x512 image; the attention and the decoder grow with ``(H * W)``, the
    attention of the last stage (no reduction) with ``(H * W)^2 / 32^4``.
    """

    # Re-initialised when pretrained weights have another class count.
    pretrained_head = ("head",)

    def __init__(self, config: SegFormerConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`SegFormerConfig`.
        """
        super().__init__()
        self.config = config
        self.encoder = MixTransformer(config)
        self.decoder = AllMLPDecoder(config.embed_dims, config.decoder_dim)
        # Channel dropout, as the authors' (mmsegmentation) head; Hugging Face drops elements.
        self.dropout = nn.Dropout2d(config.dropout)
        self.head = nn.Conv2d(config.decoder_dim, config.num_classes, 1)
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise as the authors' code does.

        Encoder: truncated normal (std 0.02) linear layers, He-normal (fan-out) convolutions,
        unit LayerNorms, zero biases. Decoder: PyTorch's default linear layers, a He-normal
        fuse convolution, a unit batch norm and a normal (std 0.01) classifier.
        """
        for module in self.encoder.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
            elif isinstance(module, nn.Conv2d):
                kernel_h, kernel_w = module.kernel_size
                fan_out = kernel_h * kernel_w * module.out_channels // module.groups
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
            if isinstance(module, nn.Linear | nn.Conv2d | nn.LayerNorm):
                assert module.bias is not None
                nn.init.zeros_(module.bias)
        nn.init.kaiming_normal_(self.decoder.fuse.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.head.weight, std=0.01)
        assert self.head.bias is not None
        nn.init.zeros_(self.head.bias)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the encoder blocks' activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the transformer blocks while training.
        """
        self.encoder.grad_checkpointing = enable

    def check_input(self, x: Tensor) -> None:
        """Check a batch's rank, channels and size before it enters the encoder.

        Args:
            x: Images, expected ``(B, C_in, H, W)`` with sides of at least
                :func:`min_input_side`.

        Raises:
            ValueError: Naming the problem; for a size, the smallest valid side.
        """
        check_batch(x, layout="(B, C, H, W)", channels=self.config.in_channels)
        minimum = min_input_side(self.config.sr_ratios)
        height, width = x.shape[-2:]
        if min(height, width) < minimum:
            raise ValueError(
                f"SegFormer with sr_ratios={self.config.sr_ratios} needs image sides of at "
                f"least {minimum} pixels (each stage's sequence reduction needs one window), "
                f"got {height}x{width}; pad or resize the images to {minimum} or more"
            )

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """Compute the encoder's four feature maps.

        Args:
            x: Images of shape ``(B, C_in, H, W)``.

        Returns:
            Maps ``(B, C_i, H_i, W_i)`` at strides 4, 8, 16 and 32 (sides rounded up).

        Raises:
            ValueError: If the rank, the channel count or the size is wrong.
        """
        self.check_input(x)
        features: list[Tensor] = self.encoder(x)
        return features

    def forward_logits_quarter(self, x: Tensor) -> Tensor:
        """Logits at the decoder's resolution, a quarter of the input's (Hugging Face's).

        Args:
            x: Images of shape ``(B, C_in, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes, ceil(H / 4), ceil(W / 4))``.

        Raises:
            ValueError: If the rank, the channel count or the size is wrong.
        """
        features = self.decoder(self.forward_stages(x))  # (B, D, H/4, W/4)
        return self.head(self.dropout(features))

    def forward(self, x: Tensor) -> Tensor:
        """Segment images.

        Args:
            x: Images of shape ``(B, C_in, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes, H, W)``: the quarter-resolution logits
            upsampled bilinearly (``align_corners=False``, as the paper's code).

        Raises:
            ValueError: If the rank, the channel count or the size is wrong.
        """
        logits = self.forward_logits_quarter(x)  # (B, num_classes, H/4, W/4)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Fit Hugging Face state dicts to this model's keys, in place.

        Two kinds are recognised (transformers 4 or 5 key names): a
        ``SegformerForSemanticSegmentation`` (``nvidia/segformer-b*-finetuned-*``), renamed
        by :func:`from_hf_state_dict`; and an ImageNet encoder, a
        ``SegformerForImageClassification`` (``nvidia/mit-b*``), loaded into ``encoder``
        with its classifier dropped and the decoder and head kept at their initialisation.
        A state dict of this model is left unchanged.

        Args:
            state_dict: Pretrained tensors by name, each of its parameter's shape (e.g. a
                linear weight ``(C_out, C_in)``).

        Returns:
            One note per change, for the load report.
        """
        if not any(key.startswith(_HF_PREFIXES) for key in state_dict):
            return []
        converted = from_hf_state_dict(
            {k: v for k, v in state_dict.items() if not k.startswith("classifier.")}
        )
        state_dict.clear()
        state_dict.update(converted)
        if any(key.startswith("decoder.") for key in converted):
            return ["renamed Hugging Face Segformer keys (from_hf_state_dict)"]
        kept = {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}
        state_dict.update(kept)
        return [
            f"ImageNet encoder (Hugging Face MiT): {len(converted)} tensors loaded into encoder "
            f"(classifier dropped); decoder and head ({len(kept)} tensors) keep their "
            "initialisation"
        ]


# Hugging Face key names. transformers 4 (the files on the Hub) -> transformers 5, as
# transformers' own conversion mapping renames them on load.
_HF_V4_TO_V5: tuple[tuple[str, str], ...] = (
    (r"\.encoder\.patch_embeddings\.(\d+)\.", r".stages.\1.patch_embeddings."),
    (r"\.encoder\.block\.(\d+)\.", r".stages.\1.blocks."),
    (r"\.encoder\.layer_norm\.(\d+)\.", r".stages.\1.layer_norm."),
    (r"\.attention\.self\.query\.", ".attention.q_proj."),
    (r"\.attention\.self\.key\.", ".attention.k_proj."),
    (r"\.attention\.self\.value\.", ".attention.v_proj."),
    (r"\.attention\.self\.sr\.", ".attention.sequence_reduction.sequence_reduction."),
    (r"\.attention\.self\.layer_norm\.", ".attention.sequence_reduction.layer_norm."),
    (r"\.attention\.output\.dense\.", ".attention.o_proj."),
    (r"\.mlp\.dense1\.", ".mlp.fc1."),
    (r"\.mlp\.dense2\.", ".mlp.fc2."),
    (r"\.layer_norm_1\.", ".layernorm_before."),
    (r"\.layer_norm_2\.", ".layernorm_after."),
    (r"^decode_head\.linear_c\.", "decode_head.linear_projections."),
)
# transformers 5 -> this model, each a full-key pattern ("k"/"v" are fused into "kv" after).
_HF_TO_OURS: tuple[tuple[str, str], ...] = (
    (
        r"^segformer\.stages\.(\d+)\.patch_embeddings\.proj\.",
        r"encoder.stages.\1.patch_embed.proj.",
    ),
    (
        r"^segformer\.stages\.(\d+)\.patch_embeddings\.layer_norm\.",
        r"encoder.stages.\1.patch_embed.norm.",
    ),
    (r"^segformer\.stages\.(\d+)\.layer_norm\.", r"encoder.stages.\1.norm."),
    (r"^segformer\.stages\.(\d+)\.blocks\.(\d+)\.", r"encoder.stages.\1.blocks.\2."),
    (r"^decode_head\.linear_projections\.(\d+)\.proj\.", r"decoder.proj.\1."),
    (r"^decode_head\.linear_fuse\.", "decoder.fuse."),
    (r"^decode_head\.batch_norm\.", "decoder.norm."),
    (r"^decode_head\.classifier\.", "head."),
)
# Inside a block (after the prefix above).
_HF_BLOCK_TO_OURS = {
    "layernorm_before": "norm1",
    "attention.q_proj": "attn.q",
    "attention.k_proj": "attn.k",
    "attention.v_proj": "attn.v",
    "attention.o_proj": "attn.proj",
    "attention.sequence_reduction.sequence_reduction": "attn.sr",
    "attention.sequence_reduction.layer_norm": "attn.sr_norm",
    "layernorm_after": "norm2",
    "mlp.fc1": "mlp.fc1",
    "mlp.dwconv.dwconv": "mlp.dwconv",
    "mlp.fc2": "mlp.fc2",
}
_HF_PREFIXES = ("segformer.", "decode_head.")
_BLOCK_KEY = re.compile(r"^(encoder\.stages\.\d+\.blocks\.\d+)\.(.+)\.(weight|bias)$")


def from_hf_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename a Hugging Face ``SegformerForSemanticSegmentation`` state dict to this model's.

    Both key layouts are read: transformers 5's (``segformer.stages.0.blocks.0.attention.
    q_proj.weight``) and transformers 4's, which the checkpoints on the Hub have
    (``segformer.encoder.block.0.0.attention.self.query.weight``). Each block's key and
    value projections are concatenated into ``attn.kv`` (keys first). An encoder alone
    (``segformer.*`` keys only) gives the ``encoder.*`` keys alone.

    Args:
        state_dict: Hugging Face's tensors by name (e.g. a key projection ``(C, C)``).

    Returns:
        The tensors under this model's names, in this model's order (``kv`` is new, of
        shape ``(2C, C)``; the others are the same tensors, not copied).

    Raises:
        KeyError: Naming the keys that belong to no module of this model (e.g. an image
            classifier's ``classifier.weight``), or a key projection without its value.
    """
    renamed: dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        new = key
        for pattern, replacement in _HF_V4_TO_V5:
            new = re.sub(pattern, replacement, new)
        for pattern, replacement in _HF_TO_OURS:
            new, count = re.subn(pattern, replacement, new)
            if count:
                break
        else:
            unknown.append(key)
            continue
        block = _BLOCK_KEY.match(new)
        if block is not None:
            prefix, module, kind = block.groups()
            if module not in _HF_BLOCK_TO_OURS:
                unknown.append(key)
                continue
            new = f"{prefix}.{_HF_BLOCK_TO_OURS[module]}.{kind}"
        renamed[new] = value
    if unknown:
        raise KeyError(f"keys with no SegFormer counterpart: {unknown[:8]}")
    return _fuse_key_value(renamed)


def _fuse_key_value(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Concatenate every ``attn.k`` and ``attn.v`` pair into ``attn.kv``, where ``k`` was."""
    fused: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if ".attn.v." in key:
            if key.replace(".attn.v.", ".attn.k.") not in state_dict:
                raise KeyError(f"keys with no SegFormer counterpart: {key} without its key")
            continue
        if ".attn.k." not in key:
            fused[key] = value
            continue
        value_key = key.replace(".attn.k.", ".attn.v.")
        if value_key not in state_dict:
            raise KeyError(f"keys with no SegFormer counterpart: {key} without {value_key}")
        fused[key.replace(".attn.k.", ".attn.kv.")] = torch.cat([value, state_dict[value_key]])
    return fused


@register_model("segformer")
def build_segformer(cfg: dict[str, Any]) -> nn.Module:
    """Build a SegFormer from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`SegFormerConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`SegFormerConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return SegFormer(SegFormerConfig(**fields))
