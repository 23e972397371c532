"""Gaussian random fields: the random inputs of the PDE data generators.

Both samplers draw from ``N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))`` by scaling white
noise in the eigenbasis of the Laplacian, as in Li et al.'s data scripts: the Fourier basis
on a periodic interval (Burgers' initial conditions) and the cosine basis of the unit square
with Neumann boundary conditions (Darcy flow's coefficients).
"""

from __future__ import annotations

import numpy as np


def periodic_grf_1d(
    num_samples: int,
    resolution: int,
    rng: np.random.Generator,
    *,
    alpha: float = 2.0,
    tau: float = 5.0,
    sigma: float = 25.0,
) -> np.ndarray:
    """Sample mean-zero random functions on the periodic interval ``[0, 1)``.

    The default ``sigma = tau^2 = 25``, ``alpha = 2`` is the Burgers initial-condition
    measure of Li et al. (2021), ``N(0, 625 (-Laplacian + 25 I)^(-2))``.

    Args:
        num_samples: Number of functions ``S``.
        resolution: Grid points ``N`` (the points ``x_j = j / N``).
        rng: The random generator.
        alpha: Smoothness exponent (larger is smoother).
        tau: Inverse length scale.
        sigma: Amplitude.

    Returns:
        Samples of shape ``(S, N)``.
    """
    wavenumbers = np.arange(resolution // 2 + 1)
    # Standard deviation of each Fourier coefficient: sqrt of the covariance eigenvalue.
    std = sigma * ((2 * np.pi * wavenumbers) ** 2 + tau**2) ** (-alpha / 2)
    std[0] = 0.0  # mean zero
    shape = (num_samples, wavenumbers.size)
    coefficients = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    coefficients *= std
    if resolution % 2 == 0:
        coefficients[:, -1] = 0.0  # a grid cannot hold the Nyquist mode's sine part
    # u(x) = sum_k c_k exp(2 pi i k x) + conj: irfft with norm="forward" sums without 1/N.
    return np.fft.irfft(coefficients, n=resolution, norm="forward")


def neumann_grf_2d(
    num_samples: int,
    resolution: int,
    rng: np.random.Generator,
    *,
    alpha: float = 2.0,
    tau: float = 3.0,
) -> np.ndarray:
    """Sample mean-zero random fields on the unit square (cosine basis, Neumann boundary).

    The default ``alpha = 2``, ``tau = 3`` is the Darcy coefficient measure of Li et al.
    (2021), ``N(0, (-Laplacian + 9 I)^(-2))``. Fields are evaluated on the grid
    ``x_i = i / (resolution - 1)`` that includes the boundary.

    Args:
        num_samples: Number of fields ``S``.
        resolution: Grid points per side ``R`` (at least 2).
        rng: The random generator.
        alpha: Smoothness exponent.
        tau: Inverse length scale.

    Returns:
        Samples of shape ``(S, R, R)``.
    """
    modes = np.arange(resolution)
    k1, k2 = np.meshgrid(modes, modes, indexing="ij")
    std = tau ** (alpha - 1) * (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2)
    std[0, 0] = 0.0  # mean zero
    x = np.linspace(0.0, 1.0, resolution)
    basis = np.cos(np.pi * np.outer(x, modes))  # (R points, R modes)
    noise = rng.standard_normal((num_samples, resolution, resolution)) * std
    # field[s, i, j] = sum_{k, l} basis[i, k] noise[s, k, l] basis[j, l]
    return np.einsum("ik,skl,jl->sij", basis, noise, basis, optimize=True)
