"""2-D Darcy flow ``-div(a grad u) = f`` on the unit square, solved by finite differences.

The benchmark of Li et al. (2021): learn the map from the permeability ``a`` to the pressure
``u``, with ``f = 1`` and ``u = 0`` on the boundary. The coefficient is a thresholded Gaussian
random field, ``a = 12`` where the field is non-negative and ``a = 3`` elsewhere.

Discretisation: the grid ``x_i = i h``, ``h = 1 / (R - 1)``, includes the boundary; the
``(R - 2)^2`` interior values solve the 5-point scheme

    -(1 / h^2) * sum over the 4 neighbours n of  a_{P,n} (u_n - u_P) = f_P,

where ``a_{P,n} = 2 a_P a_n / (a_P + a_n)`` is the harmonic mean on the face between the
two nodes (the flux-continuous choice for discontinuous coefficients). The matrix is
symmetric positive definite and an M-matrix, so ``f > 0`` gives ``u > 0`` inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from .random_fields import neumann_grf_2d


@dataclass(frozen=True)
class DarcySettings:
    """Settings of a generated Darcy data set; every field keys the cache file.

    Attributes:
        resolution: Grid points per side ``R``, boundary included.
        high: Coefficient where the random field is non-negative (12 in Li et al.).
        low: Coefficient where it is negative (3 in Li et al.).
        forcing: The constant source ``f``.
        alpha: Smoothness of the coefficient's random field.
        tau: Inverse length scale of the coefficient's random field.
    """

    resolution: int = 64
    high: float = 12.0
    low: float = 3.0
    forcing: float = 1.0
    alpha: float = 2.0
    tau: float = 3.0

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: If the grid is too small or a coefficient is not positive.
        """
        if self.resolution < 3:
            raise ValueError(f"resolution must be >= 3 (one interior point), got {self.resolution}")
        if min(self.high, self.low) <= 0:
            raise ValueError(f"coefficients must be positive, got high={self.high}, low={self.low}")


def harmonic_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The face coefficient between two nodes: the harmonic mean ``2 a b / (a + b)``.

    Args:
        a: Positive coefficients on one side of the faces.
        b: Positive coefficients on the other side, same shape.

    Returns:
        The elementwise harmonic mean, same shape.
    """
    return 2 * a * b / (a + b)


def darcy_matrix(coefficient: np.ndarray) -> sp.csr_matrix:
    """The finite-difference operator ``-div(a grad .)`` on the interior nodes.

    Args:
        coefficient: Positive ``a`` on the full grid, shape ``(R, R)``.

    Returns:
        Sparse ``(n, n)`` matrix, ``n = (R - 2)^2``, interior nodes in row-major order.
    """
    size = coefficient.shape[0]
    h2 = (1.0 / (size - 1)) ** 2
    face_x = harmonic_mean(coefficient[:-1, :], coefficient[1:, :])  # (R-1, R): (i, j)-(i+1, j)
    face_y = harmonic_mean(coefficient[:, :-1], coefficient[:, 1:])  # (R, R-1): (i, j)-(i, j+1)
    inner = size - 2
    index = np.arange(inner * inner).reshape(inner, inner)
    east, west = face_x[1:, 1:-1], face_x[:-1, 1:-1]  # (inner, inner) each
    north, south = face_y[1:-1, 1:], face_y[1:-1, :-1]
    rows = [index.ravel()]
    cols = [index.ravel()]
    values = [(east + west + north + south).ravel() / h2]
    # Couplings between interior neighbours; boundary neighbours are zero (Dirichlet).
    for weights, here, there in (
        (east[:-1, :], index[:-1, :], index[1:, :]),
        (west[1:, :], index[1:, :], index[:-1, :]),
        (north[:, :-1], index[:, :-1], index[:, 1:]),
        (south[:, 1:], index[:, 1:], index[:, :-1]),
    ):
        rows.append(here.ravel())
        cols.append(there.ravel())
        values.append(-weights.ravel() / h2)
    shape = (inner * inner, inner * inner)
    matrix = sp.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape
    )
    return matrix.tocsr()


def solve_darcy(coefficient: np.ndarray, forcing: float | np.ndarray = 1.0) -> np.ndarray:
    """Solve ``-div(a grad u) = f`` with ``u = 0`` on the boundary.

    Args:
        coefficient: Positive ``a`` on the full grid, shape ``(R, R)``.
        forcing: ``f`` as a constant or on the full grid ``(R, R)``.

    Returns:
        ``u`` on the full grid, shape ``(R, R)``, zero on the boundary.
    """
    size = coefficient.shape[0]
    source = np.broadcast_to(np.asarray(forcing, dtype=np.float64), (size, size))
    interior = spsolve(darcy_matrix(coefficient), source[1:-1, 1:-1].ravel())
    solution = np.zeros((size, size))
    solution[1:-1, 1:-1] = interior.reshape(size - 2, size - 2)
    return solution


def random_coefficients(
    num_samples: int, settings: DarcySettings, rng: np.random.Generator
) -> np.ndarray:
    """Piecewise-constant coefficients: a Gaussian random field thresholded at zero.

    Args:
        num_samples: Number of fields ``S``.
        settings: Grid and coefficient settings.
        rng: The random generator.

    Returns:
        Coefficients of shape ``(S, R, R)`` taking the values ``high`` and ``low``.
    """
    field = neumann_grf_2d(
        num_samples, settings.resolution, rng, alpha=settings.alpha, tau=settings.tau
    )
    return np.where(field >= 0, settings.high, settings.low)


def generate_darcy(num_samples: int, settings: DarcySettings, seed: int) -> dict[str, np.ndarray]:
    """Draw random coefficients and solve Darcy flow for each.

    Args:
        num_samples: Number of (coefficient, solution) pairs.
        settings: Grid, coefficient and random-field settings.
        seed: Seed of the random coefficients.

    Returns:
        ``x``: coefficients, ``y``: solutions; both float32 of shape
        ``(num_samples, 1, resolution, resolution)``.
    """
    rng = np.random.default_rng(seed)
    coefficients = random_coefficients(num_samples, settings, rng)
    solutions = np.stack([solve_darcy(a, settings.forcing) for a in coefficients])
    return {
        "x": coefficients[:, None].astype(np.float32),  # (S, 1, R, R)
        "y": solutions[:, None].astype(np.float32),
    }
