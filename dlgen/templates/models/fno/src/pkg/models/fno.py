"""Fourier Neural Operator (Li et al., 2021) on 1-, 2- and 3-D grids.

One model class for every dimension, following the authors' reference scripts
(``fourier_1d.py``, ``fourier_2d.py``, ``fourier_3d.py``): optional grid coordinates
appended to the input, a pointwise lifting to ``width`` channels, ``num_layers`` Fourier
layers ``v <- act(K v + W v)`` (Eq. 2 of the paper; no activation after the last one, as in
the scripts), then a pointwise projection ``width -> projection_dim -> out_channels``.
Non-periodic problems pad the end of every spatial axis with zeros before the Fourier
layers and crop the padding afterwards.

With the Darcy configuration (2-D, modes 12, width 32, 4 layers, input = coefficient + 2 grid
channels) the model has 2,368,001 parameters and with the Burgers one (1-D, modes 16, width
64, 4 layers) 549,569, as the reference scripts (a complex weight counts as two reals).
"""

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers.activations import ACTIVATIONS, get_activation
from ..layers.grad_checkpoint import run_blocks
from ..layers.input_checks import check_batch
from ..layers.pointwise import PointwiseLinear
from ..layers.spectral_conv import SpectralConv, check_modes
from .registry import register_model

LAYOUTS: dict[int, str] = {1: "(B, C, X)", 2: "(B, C, X, Y)", 3: "(B, C, X, Y, Z)"}


@dataclass
class FNOConfig:
    """Hyperparameters of a Fourier Neural Operator (field names as in the project config).

    Attributes:
        in_channels: Channels of the input field (e.g. 1 for Darcy's coefficient, ``T_in``
            time steps for Navier-Stokes), not counting the grid coordinates.
        out_channels: Channels of the output field.
        dims: Number of spatial axes: 1, 2 or 3.
        modes: Fourier modes kept per axis; each axis must resolve them (about
            ``2 * modes`` grid points after padding).
        width: Channels of the hidden field.
        num_layers: Number of Fourier layers.
        activation: Activation after every Fourier layer but the last, and in the
            projection.
        padding: Zero points appended to the end of every spatial axis (for non-periodic
            domains; 0 for periodic ones). FFTs are fastest when ``grid + padding`` has only
            small prime factors: 32 + 8 = 40 runs several times faster than 32 + 9 = 41.
        use_grid: Append the ``dims`` coordinates of each grid point (in ``[0, 1]``) to the
            input channels.
        projection_dim: Hidden size of the two-layer pointwise projection.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 1
    out_channels: int = 1
    dims: int = 2
    modes: int = 12
    width: int = 32
    num_layers: int = 4
    activation: str = "gelu"
    padding: int = 9
    use_grid: bool = True
    projection_dim: int = 128
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Listing every invalid value and what would be accepted.
        """
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in ("in_channels", "out_channels", "modes", "width", "num_layers")
            + ("projection_dim",)
            if getattr(self, name) < 1
        ]
        if self.dims not in LAYOUTS:
            problems.append(f"dims must be 1, 2 or 3, got {self.dims}")
        if self.padding < 0:
            problems.append(f"padding must be >= 0, got {self.padding}")
        if self.activation.lower() not in ACTIVATIONS:
            problems.append(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if problems:
            raise ValueError("invalid FNO config: " + "; ".join(problems))

    @property
    def lifted_channels(self) -> int:
        """Channels entering the lifting layer: the field plus the grid coordinates."""
        return self.in_channels + (self.dims if self.use_grid else 0)


class FourierLayer(nn.Module):
    """One Fourier layer: ``act(K v + W v)`` with a spectral and a pointwise path.

    Shapes: ``(B, width, *grid) -> (B, width, *grid)``.
    Complexity: ``O(width * N log N)`` for the FFTs over ``N`` grid points plus
    ``O(width^2 * (N + modes^dims))`` for the two linear maps.

    Args:
        width: Channels in and out.
        modes: Fourier modes kept per axis.
        dims: Number of spatial axes.
        activation: Activation name, or None for the last layer.
    """

    def __init__(self, width: int, modes: int, dims: int, activation: str | None) -> None:
        super().__init__()
        self.spectral = SpectralConv(width, width, modes, dims)
        self.pointwise = PointwiseLinear(width, width)
        self.activation = get_activation(activation) if activation else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        Args:
            x: Hidden field of shape ``(B, width, *grid)``.

        Returns:
            Hidden field of shape ``(B, width, *grid)``.
        """
        return self.activation(self.spectral(x) + self.pointwise(x))


class FNO(nn.Module):
    """Fourier Neural Operator mapping one field on a grid to another.

    The model is discretisation-invariant: it runs on any grid fine enough for ``modes``
    (train at one resolution, evaluate at another).

    Shapes: ``(B, C_in, *grid) -> (B, C_out, *grid)`` with ``len(grid) == dims``.
    Complexity: ``O(N log N)`` per Fourier layer for ``N`` grid points (the FFT), i.e.
    ``O(num_layers * B * width * N log N)`` in total, plus ``O(B * N * width^2)`` for the
    pointwise maps.

    Args:
        config: The hyperparameters; see :class:`FNOConfig`.
    """

    def __init__(self, config: FNOConfig) -> None:
        super().__init__()
        self.config = config
        self.grad_checkpointing = False
        self.lifting = PointwiseLinear(config.lifted_channels, config.width)
        self.layers = nn.ModuleList(
            FourierLayer(
                config.width,
                config.modes,
                config.dims,
                config.activation if index < config.num_layers - 1 else None,
            )
            for index in range(config.num_layers)
        )
        self.projection = nn.Sequential(
            PointwiseLinear(config.width, config.projection_dim),
            get_activation(config.activation),
            PointwiseLinear(config.projection_dim, config.out_channels),
        )

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Recompute each Fourier layer's activations in the backward pass to save memory.

        Args:
            enabled: Whether to checkpoint the Fourier layers while training.
        """
        self.grad_checkpointing = enabled

    def grid_coordinates(self, x: Tensor) -> Tensor:
        """Coordinates of every grid point, uniform in ``[0, 1]`` along each axis.

        Args:
            x: A batch of shape ``(B, C, *grid)`` (only its shape, dtype and device are used).

        Returns:
            Coordinates of shape ``(B, dims, *grid)``.
        """
        grid = x.shape[2:]
        axes = [torch.linspace(0.0, 1.0, size, dtype=x.dtype, device=x.device) for size in grid]
        mesh = torch.meshgrid(*axes, indexing="ij")  # dims tensors of shape grid
        return torch.stack(mesh).unsqueeze(0).expand(x.shape[0], *([-1] * (len(grid) + 1)))

    def forward(self, x: Tensor) -> Tensor:
        """Map input fields to output fields.

        Args:
            x: Input fields of shape ``(B, C_in, *grid)``.

        Returns:
            Output fields of shape ``(B, C_out, *grid)``.

        Raises:
            ValueError: If the batch is empty, its rank or channels are wrong, or the grid
                (after padding) is too coarse for ``modes``.
        """
        config = self.config
        check_batch(x, layout=LAYOUTS[config.dims], channels=config.in_channels)
        grid = tuple(x.shape[2:])
        padded = tuple(size + config.padding for size in grid)
        try:
            check_modes(padded, (config.modes,) * config.dims)
        except ValueError as error:
            raise ValueError(f"input grid {grid} (padded by {config.padding}): {error}") from None
        if config.use_grid:
            x = torch.cat([x, self.grid_coordinates(x)], dim=1)  # (B, C_in + dims, *grid)
        x = self.lifting(x)  # (B, width, *grid)
        if config.padding:
            # F.pad lists (left, right) pairs from the last axis backwards.
            x = F.pad(x, [0, config.padding] * config.dims)  # (B, width, *padded)
        x = run_blocks(self.layers, x, self.grad_checkpointing and self.training)
        for axis, size in enumerate(grid):  # crop the padding: (B, width, *grid)
            x = x.narrow(2 + axis, 0, size)
        return self.projection(x)  # (B, C_out, *grid)


@register_model("fno")
def build_fno(cfg: dict[str, Any]) -> nn.Module:
    """Build an FNO from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`FNOConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return FNO(FNOConfig(**fields))
