"""Plain convolutional classifiers: LeNet-5, a small 2-D CNN and a 1-D CNN for signals.

One configurable network covers the three: ``len(channels)`` stages of convolution, optional
batch norm, activation and 2x pooling, then global average pooling or flattening, then fully
connected layers. The catalog's named configurations:

- LeNet-5 (LeCun et al., 1998, as commonly implemented): ``channels=[6, 16]``,
  ``kernel_size=5``, ``padding=[2, 0]`` (a 28x28 input is treated as the paper's 32x32),
  average pooling, tanh, no batch norm, flattened 16x5x5 features, ``hidden_dims=[120, 84]``;
  61,706 parameters for 1x28x28 inputs and 10 classes. The original's trainable
  subsampling coefficients and partial C3 connection table are not reproduced.
- small CNN: ``channels=[32, 64, 128]``, 3x3 convolutions with batch norm, ReLU, max pooling,
  global average pooling, dropout, one hidden layer.
- 1-D CNN (``dims=1``): the same stages with ``Conv1d`` for ``(B, C, L)`` signals such as
  12-lead ECG.
"""

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from ..layers.activations import get_activation
from ..layers.input_checks import check_batch
from .registry import register_model

POOLS = ("max", "avg")


@dataclass(frozen=True)
class DimOps:
    """The layer classes of one data dimensionality."""

    conv: type[nn.Conv1d | nn.Conv2d]
    norm: type[nn.BatchNorm1d | nn.BatchNorm2d]
    pools: dict[str, type[nn.Module]]
    global_pool: type[nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d]
    layout: str


DIM_OPS: dict[int, DimOps] = {
    1: DimOps(
        nn.Conv1d,
        nn.BatchNorm1d,
        {"max": nn.MaxPool1d, "avg": nn.AvgPool1d},
        nn.AdaptiveAvgPool1d,
        "(B, C, L)",
    ),
    2: DimOps(
        nn.Conv2d,
        nn.BatchNorm2d,
        {"max": nn.MaxPool2d, "avg": nn.AvgPool2d},
        nn.AdaptiveAvgPool2d,
        "(B, C, H, W)",
    ),
}


@dataclass
class CNNConfig:
    """Hyperparameters of a plain CNN classifier (field names as in the project config).

    Attributes:
        in_channels: Input channels ``C`` (1 for MNIST, 12 for 12-lead ECG).
        num_classes: Number of output classes.
        image_size: Side of the square input images (``dims=2``).
        sequence_length: Length ``L`` of the input signals (``dims=1``).
        dims: 2 for images ``(B, C, H, W)``, 1 for signals ``(B, C, L)``.
        channels: Output channels of each convolution stage.
        kernel_size: Kernel size of every convolution.
        padding: Zero padding of each convolution; ``None`` for "same" (``kernel_size // 2``).
        pool: 2x pooling after each stage: ``"max"`` or ``"avg"``.
        batch_norm: Batch norm after each convolution (the convolution then has no bias).
        global_pool: Average the last feature map to one vector; otherwise flatten it, which
            fixes the input size.
        hidden_dims: Fully connected layers between the features and the classifier.
        dropout: Dropout before every fully connected layer.
        activation: Activation after each convolution and hidden layer.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 1
    num_classes: int = 10
    image_size: int | None = None
    sequence_length: int | None = None
    dims: int = 2
    channels: list[int] = field(default_factory=lambda: [32, 64, 128])
    kernel_size: int = 3
    padding: list[int] | None = None
    pool: str = "max"
    batch_norm: bool = True
    global_pool: bool = True
    hidden_dims: list[int] = field(default_factory=lambda: [128])
    dropout: float = 0.25
    activation: str = "relu"
    variant: str | None = None

    def __post_init__(self) -> None:
        """Normalise the lists to ints and check the values against each other.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        self.channels = [int(c) for c in self.channels]
        self.hidden_dims = [int(h) for h in self.hidden_dims]
        self.padding = None if self.padding is None else [int(p) for p in self.padding]
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in ("in_channels", "num_classes", "kernel_size")
            if getattr(self, name) < 1
        ]
        if self.dims not in DIM_OPS:
            problems.append(f"dims must be one of {tuple(DIM_OPS)}, got {self.dims}")
        if not self.channels or min(self.channels) < 1:
            problems.append(f"channels must be a non-empty list of positive ints: {self.channels}")
        if self.hidden_dims and min(self.hidden_dims) < 1:
            problems.append(f"hidden_dims must hold positive ints, got {self.hidden_dims}")
        if self.padding is not None and len(self.padding) != len(self.channels):
            problems.append(
                f"padding needs one entry per stage ({len(self.channels)}), got {self.padding}"
            )
        if self.pool not in POOLS:
            problems.append(f"pool must be one of {POOLS}, got {self.pool!r}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.global_pool and self.input_size is None:
            size_key = "image_size" if self.dims == 2 else "sequence_length"
            problems.append(f"global_pool=false flattens a fixed-size map: set {size_key}")
        if problems:
            raise ValueError("invalid CNN config: " + "; ".join(problems))
        if self.input_size is not None and min(self.input_size) < self.min_input_size:
            raise ValueError(
                f"input size {self.input_size} is too small for {len(self.channels)} stages "
                f"with 2x pooling (minimum {self.min_input_size}); use fewer stages"
            )

    @property
    def paddings(self) -> list[int]:
        """The zero padding of every convolution."""
        if self.padding is None:
            return [self.kernel_size // 2] * len(self.channels)
        return self.padding

    @property
    def input_size(self) -> tuple[int, ...] | None:
        """The configured spatial size of one sample, or None when not set."""
        size = self.image_size if self.dims == 2 else self.sequence_length
        return None if size is None else (size,) * self.dims

    @property
    def min_input_size(self) -> int:
        """The smallest input side for which every stage keeps at least one position."""
        size = 1
        for pad in reversed(self.paddings):
            # A stage maps n to (n + 2p - k + 1) // 2; invert it for an output of `size`.
            size = max(2 * size + self.kernel_size - 1 - 2 * pad, 1)
        return size

    def feature_size(self, size: int) -> int:
        """Side of the last feature map for an input of side ``size``.

        Args:
            size: Input side (height, width or length).

        Returns:
            The side after every convolution and pooling stage.
        """
        for pad in self.paddings:
            size = (size + 2 * pad - self.kernel_size + 1) // 2
        return size


class ConvStage(nn.Module):
    """Convolution, optional batch norm, activation and 2x pooling.

    Shapes: ``(B, C_in, *S) -> (B, C_out, *S')`` with ``S' = (S + 2p - k + 1) // 2`` per axis;
    cost ``O(B * prod(S) * C_in * C_out * k^dims)``.
    """

    def __init__(
        self,
        ops: DimOps,
        in_channels: int,
        out_channels: int,
        config: CNNConfig,
        padding: int,
    ) -> None:
        """Create the stage.

        Args:
            ops: The 1-D or 2-D layer classes.
            in_channels: Input channels.
            out_channels: Output channels.
            config: The network config (kernel size, norm, activation, pooling).
            padding: Zero padding of the convolution.
        """
        super().__init__()
        self.conv = ops.conv(
            in_channels,
            out_channels,
            config.kernel_size,
            padding=padding,
            bias=not config.batch_norm,
        )
        self.norm = ops.norm(out_channels) if config.batch_norm else nn.Identity()
        self.act = get_activation(config.activation, inplace=config.batch_norm)
        self.pool = ops.pools[config.pool](2)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the stage.

        Args:
            x: Feature map of shape ``(B, C_in, *S)``.

        Returns:
            Feature map of shape ``(B, C_out, *S')``.
        """
        return self.pool(self.act(self.norm(self.conv(x))))


class ConvNet(nn.Module):
    """Plain CNN classifier for images (``dims=2``) or signals (``dims=1``).

    Shapes: ``(B, C, H, W) -> (B, num_classes)`` or ``(B, C, L) -> (B, num_classes)``.
    Complexity: ``O(B * sum_l prod(S_l) * C_{l-1} * C_l * k^dims)`` for the convolutions
    plus ``O(B * sum F_i * F_{i+1})`` for the fully connected layers.
    """

    # Classifier module: its layers of another shape (a new class count) are re-initialised
    # when pretrained weights are loaded.
    pretrained_head = ("head",)

    def __init__(self, config: CNNConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`CNNConfig`.
        """
        super().__init__()
        self.config = config
        self.ops = DIM_OPS[config.dims]
        widths = [config.in_channels, *config.channels]
        self.stages = nn.Sequential(
            *(
                ConvStage(self.ops, c_in, c_out, config, pad)
                for c_in, c_out, pad in zip(widths[:-1], widths[1:], config.paddings, strict=True)
            )
        )
        features = config.channels[-1]
        if config.global_pool:
            self.pool: nn.Module = self.ops.global_pool(1)
        else:
            assert config.input_size is not None  # checked by CNNConfig
            self.pool = nn.Identity()
            features *= config.feature_size(config.input_size[0]) ** config.dims
        self.head = self._make_head(features)

    def _make_head(self, features: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for hidden in self.config.hidden_dims:
            layers += [nn.Dropout(self.config.dropout), nn.Linear(features, hidden)]
            layers.append(get_activation(self.config.activation))
            features = hidden
        layers += [nn.Dropout(self.config.dropout), nn.Linear(features, self.config.num_classes)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Classify a batch.

        Args:
            x: Images ``(B, C, H, W)`` for ``dims=2`` or signals ``(B, C, L)`` for ``dims=1``.

        Returns:
            Logits of shape ``(B, num_classes)``.

        Raises:
            ValueError: If the batch is empty, has the wrong rank or channel count, differs
                from the configured size when features are flattened, or is too small for
                the pooling stages.
        """
        spatial = None if self.config.global_pool else self.config.input_size
        check_batch(x, layout=self.ops.layout, channels=self.config.in_channels, spatial=spatial)
        if min(x.shape[2:]) < self.config.min_input_size:
            raise ValueError(
                f"input size {tuple(x.shape[2:])} is too small for {len(self.config.channels)} "
                f"pooling stages; each side must be at least {self.config.min_input_size}"
            )
        x = self.pool(self.stages(x))  # (B, C_last, *S_last)
        return self.head(x.flatten(1))


@register_model("cnn")
def build_cnn(cfg: dict[str, Any]) -> nn.Module:
    """Build a CNN (LeNet-5, small CNN or 1-D CNN) from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`CNNConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`CNNConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return ConvNet(CNNConfig(**fields))
