"""Spectral convolution: the global convolution of a Fourier Neural Operator layer.

Li et al. (2021), Eq. (4): ``(K v)(x) = IFFT(R * FFT(v))(x)``, where ``R`` is a learned
complex tensor acting on the lowest ``modes`` frequencies of each axis and every higher
frequency is dropped. With a real FFT the last axis holds only non-negative frequencies,
while every other axis holds both signs, so the kept modes form ``2 ** (dims - 1)`` corner
blocks of the spectrum, each with its own weights (``weights1``/``weights2`` in the
authors' ``fourier_2d.py``, ``weights1``..``weights4`` in ``fourier_3d.py``).
"""

import itertools

import torch
from torch import Tensor, nn


def check_modes(grid: tuple[int, ...], modes: tuple[int, ...]) -> None:
    """Check that a grid is fine enough for the Fourier modes kept on each axis.

    Args:
        grid: The spatial sizes the FFT sees (after any padding).
        modes: The modes kept per axis, as many as ``grid`` has axes.

    Raises:
        ValueError: If an axis resolves fewer frequencies than its modes: a leading axis
            needs ``2 * modes`` points (the positive and negative blocks must not overlap),
            the last axis ``2 * (modes - 1)`` (a real FFT of ``n`` points has ``n // 2 + 1``
            frequencies).
    """
    if len(grid) != len(modes):
        raise ValueError(f"expected {len(modes)} grid axes for modes {modes}, got grid {grid}")
    for axis, (size, mode) in enumerate(zip(grid, modes, strict=True)):
        resolved = size // 2 + 1 if axis == len(grid) - 1 else size // 2
        if mode > resolved:
            raise ValueError(
                f"grid size {size} on spatial axis {axis} is too coarse for modes={mode}: it "
                f"resolves at most {resolved} modes (use about 2 * modes points); raise the "
                f"resolution or lower modes to {resolved}"
            )


class SpectralConv(nn.Module):
    """Fourier-space linear map on the lowest modes of a 1-, 2- or 3-D field.

    The weights are stored as real tensors with a trailing axis of size 2 (real and
    imaginary parts), so parameter counts, optimizers, EMA and DDP treat each complex
    weight as two reals.

    Shapes: ``(B, C_in, *grid) -> (B, C_out, *grid)`` with ``len(grid) == dims``.
    Complexity: ``O(B * C * N log N)`` for the FFTs over ``N`` grid points, plus
    ``O(B * C_in * C_out * prod(modes))`` for the spectral product.

    Args:
        in_channels: Channels of the input field.
        out_channels: Channels of the output field.
        modes: Frequencies kept per axis (one int for every axis, or one per axis).
        dims: Number of spatial axes (1, 2 or 3).
    """

    def __init__(
        self, in_channels: int, out_channels: int, modes: int | tuple[int, ...], dims: int
    ) -> None:
        super().__init__()
        if dims not in (1, 2, 3):
            raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
        modes_per_axis = (modes,) * dims if isinstance(modes, int) else tuple(modes)
        if len(modes_per_axis) != dims or min(modes_per_axis) < 1:
            raise ValueError(
                f"modes must be a positive int or {dims} positive ints, got {modes!r}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes = modes_per_axis
        self.dims = dims
        blocks = 2 ** (dims - 1)
        # Li et al.'s initialisation: uniform [0, 1) real and imaginary parts, scaled.
        scale = 1.0 / (in_channels * out_channels)
        shape = (blocks, in_channels, out_channels, *modes_per_axis, 2)
        self.weight = nn.Parameter(scale * torch.rand(shape))

    def extra_repr(self) -> str:
        """Sizes shown by ``print(module)``."""
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

    def _corners(self) -> list[tuple[slice, ...]]:
        """Index slices of the kept spectrum blocks, in the order of the weight blocks."""
        *leading, last = self.modes
        choices = [(slice(None, m), slice(-m, None)) for m in leading]
        corners = []
        for combo in itertools.product(*reversed(choices)):
            corners.append((*reversed(combo), slice(None, last)))
        return corners

    def forward(self, x: Tensor) -> Tensor:
        """Apply the spectral convolution.

        Args:
            x: Real field of shape ``(B, C_in, *grid)``.

        Returns:
            Real field of shape ``(B, C_out, *grid)``.

        Raises:
            ValueError: If the rank, the channels or the grid size do not fit.
        """
        if x.ndim != self.dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected a batch shaped (B, {self.in_channels}, *grid) with {self.dims} "
                f"spatial axes, got {tuple(x.shape)}"
            )
        grid = tuple(x.shape[2:])
        check_modes(grid, self.modes)
        axes = tuple(range(-self.dims, 0))
        # The FFT runs in fp32 even under autocast: half-precision FFTs need power-of-2 sizes.
        x_ft = torch.fft.rfftn(x.float(), dim=axes)  # (B, C_in, *grid[:-1], grid[-1] // 2 + 1)
        weight = torch.view_as_complex(self.weight)  # (blocks, C_in, C_out, *modes)
        out_ft = x_ft.new_zeros((x.shape[0], self.out_channels, *x_ft.shape[2:]))
        for block, corner in enumerate(self._corners()):
            index = (slice(None), slice(None), *corner)
            # (B, C_in, *modes) x (C_in, C_out, *modes) -> (B, C_out, *modes)
            out_ft[index] = torch.einsum("bi...,io...->bo...", x_ft[index], weight[block])
        return torch.fft.irfftn(out_ft, s=grid, dim=axes).to(x.dtype)  # (B, C_out, *grid)
