"""1-D viscous Burgers' equation on a periodic domain, solved pseudo-spectrally.

``u_t + (u^2 / 2)_x = nu * u_xx`` on ``x in [0, 1)`` with periodic boundary conditions,
the benchmark of Li et al. (2021): learn the map from ``u(., 0)`` to ``u(., 1)``.

In Fourier space ``d/dt u_k = L_k u_k + N_k(u)`` with the stiff, diagonal linear part
``L_k = -nu * k^2`` and the nonlinear part ``N_k = -(i k / 2) FFT(u^2)_k``. Time stepping is
ETDRK4 (Cox & Matthews, 2002): the linear part is integrated exactly by ``exp(L dt)`` and the
nonlinear part by a fourth-order Runge-Kutta scheme, with the phi-function coefficients
evaluated by contour integrals (Kassam & Trefethen, 2005). The nonlinear term is dealiased by
the 2/3 rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .random_fields import periodic_grf_1d

CONTOUR_POINTS = 32
MIN_SOLVER_RESOLUTION = 256


@dataclass(frozen=True)
class BurgersSettings:
    """Settings of a generated Burgers data set; every field keys the cache file.

    Attributes:
        resolution: Grid points of the stored fields.
        solver_resolution: Grid points the solver uses, a multiple of ``resolution`` (the
            solution is subsampled to it); None picks the smallest multiple that is at
            least ``MIN_SOLVER_RESOLUTION``.
        viscosity: ``nu`` (0.1 in Li et al.'s benchmark).
        final_time: Time of the target field.
        alpha: Smoothness of the initial-condition random field.
        tau: Inverse length scale of the initial-condition random field.
        sigma: Amplitude of the initial-condition random field.
        max_dt: Largest time step; the step also obeys a CFL bound.
    """

    resolution: int = 128
    solver_resolution: int | None = None
    viscosity: float = 0.1
    final_time: float = 1.0
    alpha: float = 2.0
    tau: float = 5.0
    sigma: float = 25.0
    max_dt: float = 1e-2

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: If a size or a physical parameter is out of range.
        """
        if self.resolution < 2:
            raise ValueError(f"resolution must be >= 2, got {self.resolution}")
        if self.solver_grid % self.resolution:
            raise ValueError(
                f"solver_resolution ({self.solver_resolution}) must be a multiple of "
                f"resolution ({self.resolution})"
            )
        if min(self.viscosity, self.final_time, self.max_dt) <= 0:
            raise ValueError("viscosity, final_time and max_dt must be positive")

    @property
    def solver_grid(self) -> int:
        """The number of grid points the solver uses."""
        if self.solver_resolution is not None:
            return self.solver_resolution
        return self.resolution * max(1, math.ceil(MIN_SOLVER_RESOLUTION / self.resolution))


def wavenumbers(resolution: int) -> np.ndarray:
    """Angular wavenumbers ``2 pi k`` of a real FFT on ``[0, 1)``.

    Args:
        resolution: Grid points ``N``.

    Returns:
        Array of shape ``(N // 2 + 1,)``.
    """
    return 2 * np.pi * np.arange(resolution // 2 + 1)


def etdrk4_coefficients(linear: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """ETDRK4 coefficients for a diagonal linear operator (Kassam & Trefethen, 2005, Eq. 2.5).

    Args:
        linear: Diagonal ``L`` of the linear operator, shape ``(K,)``.
        dt: Time step.

    Returns:
        ``E``, ``E2`` (``exp(L dt)``, ``exp(L dt / 2)``), ``Q``, ``f1``, ``f2``, ``f3``.
    """
    roots = np.exp(1j * np.pi * (np.arange(1, CONTOUR_POINTS + 1) - 0.5) / CONTOUR_POINTS)
    lr = dt * linear[:, None] + roots[None, :]  # (K, M) points around each L dt

    def mean(values: np.ndarray) -> np.ndarray:
        return np.asarray(dt * np.real(values.mean(axis=1)))

    exp_lr = np.exp(lr)
    return {
        "E": np.exp(dt * linear),
        "E2": np.exp(dt * linear / 2),
        "Q": mean((np.exp(lr / 2) - 1) / lr),
        "f1": mean((-4 - lr + exp_lr * (4 - 3 * lr + lr**2)) / lr**3),
        "f2": mean((2 + lr + exp_lr * (lr - 2)) / lr**3),
        "f3": mean((-4 - 3 * lr - lr**2 + exp_lr * (4 - lr)) / lr**3),
    }


def stable_num_steps(u0: np.ndarray, viscosity: float, final_time: float, max_dt: float) -> int:
    """Number of equal steps that keeps ETDRK4 stable and accurate.

    A mode ``k`` is advected at rate ``k U`` (``U = max |u0|``, which bounds ``|u|`` for all
    time by the maximum principle) and damped at rate ``nu k^2``, which the exponential
    integrator handles exactly. The explicit part needs ``k U dt <= 1`` only for modes the
    viscosity does not damp within a step (``nu k^2 dt < 1``), which holds for every such
    mode when ``dt <= nu / U^2``; otherwise the plain CFL bound ``U k_max dt <= 1`` applies.
    The larger of the two steps is used, capped by ``max_dt``.

    Args:
        u0: Initial conditions of shape ``(S, N)``.
        viscosity: ``nu``.
        final_time: Integration time.
        max_dt: Largest allowed step.

    Returns:
        The number of steps.
    """
    resolution = u0.shape[-1]
    k_max = 2 * np.pi * resolution / 3  # largest wavenumber left by the 2/3 rule
    speed = float(np.abs(u0).max(initial=0.0)) + 1e-12
    dt = min(max_dt, max(1.0 / (speed * k_max), viscosity / speed**2))
    return max(1, math.ceil(final_time / dt))


def solve_burgers(
    u0: np.ndarray, viscosity: float, final_time: float, num_steps: int | None = None
) -> np.ndarray:
    """Integrate Burgers' equation from ``u0`` to ``final_time``.

    Args:
        u0: Initial conditions on ``x_j = j / N``, shape ``(S, N)`` or ``(N,)``.
        viscosity: ``nu`` (positive).
        final_time: Integration time (positive).
        num_steps: Number of ETDRK4 steps; by default :func:`stable_num_steps` with
            ``max_dt=1e-2``.

    Returns:
        ``u(., final_time)`` with the shape of ``u0``.
    """
    u0 = np.asarray(u0, dtype=np.float64)
    batch = np.atleast_2d(u0)
    resolution = batch.shape[-1]
    steps = num_steps or stable_num_steps(batch, viscosity, final_time, 1e-2)
    dt = final_time / steps
    k = wavenumbers(resolution)
    keep = np.arange(k.size) <= resolution // 3  # 2/3-rule dealiasing mask
    coefficients = etdrk4_coefficients(-viscosity * k**2, dt)

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v, n=resolution)
        return -0.5j * k * keep * np.fft.rfft(u * u)  # -(i k / 2) FFT(u^2)

    E, E2, Q = coefficients["E"], coefficients["E2"], coefficients["Q"]
    f1, f2, f3 = coefficients["f1"], coefficients["f2"], coefficients["f3"]
    v = np.fft.rfft(batch)  # (S, N // 2 + 1)
    for _ in range(steps):
        nv = nonlinear(v)
        a = E2 * v + Q * nv
        na = nonlinear(a)
        b = E2 * v + Q * na
        nb = nonlinear(b)
        c = E2 * a + Q * (2 * nb - nv)
        nc = nonlinear(c)
        v = E * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
    return np.fft.irfft(v, n=resolution).reshape(u0.shape)


def generate_burgers(
    num_samples: int, settings: BurgersSettings, seed: int
) -> dict[str, np.ndarray]:
    """Draw random initial conditions and solve Burgers' equation for each.

    Args:
        num_samples: Number of (initial condition, solution) pairs.
        settings: Grid, physics and random-field settings.
        seed: Seed of the random initial conditions.

    Returns:
        ``x``: initial conditions, ``y``: solutions at ``final_time``; both float32 of
        shape ``(num_samples, 1, resolution)``.
    """
    rng = np.random.default_rng(seed)
    u0 = periodic_grf_1d(
        num_samples,
        settings.solver_grid,
        rng,
        alpha=settings.alpha,
        tau=settings.tau,
        sigma=settings.sigma,
    )
    steps = stable_num_steps(u0, settings.viscosity, settings.final_time, settings.max_dt)
    u1 = solve_burgers(u0, settings.viscosity, settings.final_time, steps)
    stride = settings.solver_grid // settings.resolution
    return {
        "x": u0[:, None, ::stride].astype(np.float32),  # (S, 1, resolution)
        "y": u1[:, None, ::stride].astype(np.float32),
    }
