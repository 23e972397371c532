"""Spectral convolution: the global convolution of a Fourier Neural Operator layer.

Li et al. (2021), Eq. (4): ``(K v)(x) = IFFT(R * FFT(v))(x)``, where ``R`` is a learned
complex tensor acting on the lowest ``modes`` frequencies of each axis and every higher
frequency is dropped. With a real FFT the last axis holds only non-negative frequencies,
while every other axis holds both signs, so the kept modes form ``2 ** (dims - 1)`` corner
blocks of the spectrum (``weights1``/``weights2`` in the authors' ``fourier_2d.py``,
``weights1``..``weights4`` in ``fourier_3d.py``). Here they are one tensor whose leading mode
axes hold the ``modes`` non-negative frequencies, then the ``modes`` negative ones: the
reference ``weights1`` is ``R[:, :, :m1]`` and ``weights2`` is ``R[:, :, m1:]`` in 2-D.

The transforms are truncated: the forward pass transforms each leading axis only for the
kept modes of the axes after it, and the inverse pass zero-fills only what it must, which
is also cheaper than a full ``rfftn``/``irfftn`` pair. The zero-filling and, when exporting,
the spectral product use real arithmetic, so the layer exports to ONNX.
"""

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


def exporting() -> bool:
    """Whether ``torch.export`` is tracing this call (False on PyTorch < 2.5, which lacks it).

    Returns:
        True while exporting.
    """
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting is not None and is_exporting())


def complex_product_in_reals(x_ft: Tensor, weight: Tensor) -> Tensor:
    """The spectral product ``sum_i x_ft[b, i] * R[i, o]`` with real einsums only.

    ONNX has no complex einsum (the exporter refuses it), so an exported graph multiplies
    real and imaginary parts separately; ``export.py`` checks the result against eager.

    Args:
        x_ft: Complex spectrum of shape ``(B, C_in, *kept)``.
        weight: Real weight of shape ``(C_in, C_out, *kept, 2)`` (real, imaginary).

    Returns:
        Complex spectrum of shape ``(B, C_out, *kept)``.
    """
    x_real, x_imag = x_ft.real, x_ft.imag
    w_real, w_imag = weight.unbind(-1)
    equation = "bi...,io...->bo..."
    real = torch.einsum(equation, x_real, w_real) - torch.einsum(equation, x_imag, w_imag)
    imag = torch.einsum(equation, x_real, w_imag) + torch.einsum(equation, x_imag, w_real)
    return torch.complex(real, imag)


def zero_fill(spectrum: Tensor, axis: int, low: int, size: int, high: int | None = None) -> Tensor:
    """Put the dropped frequencies of one axis back, as zeros, between the kept blocks.

    The zeros are made on the real view of the spectrum: ONNX cannot create or pad
    complex tensors, and zeros are exact either way.

    Args:
        spectrum: Complex tensor ``(B, C, ..., low + high, ...)`` holding ``low``
            non-negative frequencies ``0..low-1`` on ``axis``, then ``high`` negative ones.
        axis: The (non-negative) axis to fill.
        low: The non-negative frequencies kept.
        size: The axis' full length in frequencies.
        high: The negative frequencies kept (default: ``low``; 0 for a real FFT's axis).

    Returns:
        The complex tensor ``(B, C, ..., size, ...)``, frequencies in FFT order.
    """
    high = low if high is None else high
    parts = torch.view_as_real(spectrum)  # (..., low + high, ..., 2)
    gap = list(parts.shape)
    gap[axis] = size - low - high
    blocks = [parts.narrow(axis, 0, low), parts.new_zeros(gap), parts.narrow(axis, low, high)]
    return torch.view_as_complex(torch.cat(blocks, dim=axis))


class SpectralConv(nn.Module):
    """Fourier-space linear map on the lowest modes of a 1-, 2- or 3-D field.

    The weights are stored as real tensors with a trailing axis of size 2 (real and
    imaginary parts), so parameter counts, optimizers, EMA and DDP treat each complex
    weight as two reals.

    Shapes: ``(B, C_in, *grid) -> (B, C_out, *grid)`` with ``len(grid) == dims``.
    Complexity: ``O(B * C * N log N)`` for the FFTs over ``N`` grid points, plus
    ``O(B * C_in * C_out * 2^(dims - 1) * prod(modes))`` for the spectral product.

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
            raise ValueError(f"modes must be a positive int or {dims} positive ints, got {modes!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes = modes_per_axis
        self.dims = dims
        # Leading axes keep both signs of frequency, the last axis only the non-negative ones.
        kept = tuple(2 * m for m in modes_per_axis[:-1]) + (modes_per_axis[-1],)
        # Li et al.'s initialisation: uniform [0, 1) real and imaginary parts, scaled.
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.rand(in_channels, out_channels, *kept, 2))

    def extra_repr(self) -> str:
        """Sizes shown by ``print(module)``.

        Returns:
            The channels and the modes per axis.
        """
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

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
        leading = list(zip(range(2, self.dims + 1), self.modes[:-1], grid[:-1], strict=True))
        # The FFT runs in fp32 even under autocast: half-precision FFTs need power-of-2 sizes.
        x_ft = torch.fft.rfft(x.float(), dim=-1)[..., : self.modes[-1]]  # (B, C_in, ..., m_last)
        for axis, mode, size in leading:
            x_ft = torch.fft.fft(x_ft, dim=axis)
            # Keep frequencies 0..m-1 and -m..-1 of this axis: 2m entries.
            x_ft = torch.cat(
                [x_ft.narrow(axis, 0, mode), x_ft.narrow(axis, size - mode, mode)], axis
            )
        if exporting():
            out_ft = complex_product_in_reals(x_ft, self.weight)
        else:
            weight = torch.view_as_complex(self.weight)  # (C_in, C_out, 2m_1, ..., m_last)
            out_ft = torch.einsum("bi...,io...->bo...", x_ft, weight)  # (B, C_out, 2m_1, ...)
        for axis, mode, size in leading:
            out_ft = torch.fft.ifft(zero_fill(out_ft, axis, mode, size), dim=axis)  # full axis
        last = self.dims + 1
        out_ft = zero_fill(out_ft, last, self.modes[-1], grid[-1] // 2 + 1, high=0)
        return torch.fft.irfft(out_ft, n=grid[-1], dim=last).to(x.dtype)  # (B, C_out, *grid)
