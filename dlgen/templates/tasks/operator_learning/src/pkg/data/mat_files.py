"""Readers of the standard operator-learning benchmark files (Li et al., 2021).

- Darcy flow: ``coeff`` (permeability) and ``sol`` (pressure), each ``(N, s, s)``,
  e.g. ``piececonst_r421_N1024_smooth1.mat`` with ``s = 421``.
- Burgers: ``a`` (initial condition) and ``u`` (solution at ``t = 1``), each ``(N, s)``,
  e.g. ``burgers_data_R10.mat`` with ``s = 8192``.
- Navier-Stokes: ``u`` (vorticity) ``(N, s, s, T)``, e.g. ``ns_V1e-3_N5000_T50.mat``; the
  first ``time_in`` steps are the input channels and the next ``time_out`` the target
  (2-D), or the target on a space-time grid (3-D, inputs repeated along time).

Files in MATLAB's v7.3 format are HDF5 and need ``h5py`` (an optional dependency).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.io

from .config import DataConfig

FieldPair = tuple[np.ndarray, np.ndarray]


def load_mat(path: str | Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Read named arrays from a ``.mat`` file (v5 with scipy, v7.3 with h5py).

    Args:
        path: The file.
        keys: Variable names to read.

    Returns:
        Name -> array, with MATLAB's axis order (h5py's reversed order is undone).

    Raises:
        FileNotFoundError: If the file does not exist.
        KeyError: If a variable is missing.
        ImportError: If the file is v7.3 and h5py is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; set data.path to the benchmark file")
    try:
        arrays = scipy.io.loadmat(str(path), variable_names=list(keys))
    except NotImplementedError:  # MATLAB v7.3 (HDF5)
        arrays = _load_hdf5(path, keys)
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise KeyError(f"{path} has no variable(s) {missing}; expected {list(keys)}")
    return {key: np.asarray(arrays[key], dtype=np.float32) for key in keys}


def _load_hdf5(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            f"{path} is a MATLAB v7.3 (HDF5) file; install h5py to read it: "
            "pip install -e '.[hdf5]' (or pip install h5py)"
        ) from exc
    with h5py.File(path, "r") as handle:
        # HDF5 stores MATLAB arrays column-major: reverse the axes back.
        return {key: np.asarray(handle[key]).transpose() for key in keys if key in handle}


def _darcy(path: str, config: DataConfig) -> FieldPair:
    arrays = load_mat(path, ("coeff", "sol"))
    step = config.subsample
    x = arrays["coeff"][:, None, ::step, ::step]  # (N, 1, s', s')
    y = arrays["sol"][:, None, ::step, ::step]
    return x, y


def _burgers(path: str, config: DataConfig) -> FieldPair:
    arrays = load_mat(path, ("a", "u"))
    step = config.subsample
    return arrays["a"][:, None, ::step], arrays["u"][:, None, ::step]  # (N, 1, s')


def _navier_stokes_steps(path: str, config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    u = load_mat(path, ("u",))["u"]  # (N, s, s, T)
    needed = config.time_in + config.time_out
    if u.shape[-1] < needed:
        raise ValueError(
            f"{path} has {u.shape[-1]} time steps; time_in + time_out = {needed} are needed"
        )
    step = config.subsample
    u = u[:, ::step, ::step]
    first = np.moveaxis(u[..., : config.time_in], -1, 1)  # (N, time_in, s', s')
    return first, u[..., config.time_in : needed]  # (N, s', s', time_out)


def _navier_stokes(path: str, config: DataConfig) -> FieldPair:
    first, following = _navier_stokes_steps(path, config)
    return first, np.moveaxis(following, -1, 1)  # (N, time_out, s', s')


def _navier_stokes_3d(path: str, config: DataConfig) -> FieldPair:
    first, following = _navier_stokes_steps(path, config)
    steps = config.time_out
    x = np.repeat(first[..., None], steps, axis=-1)  # (N, time_in, s', s', time_out)
    return x, following[:, None]  # (N, 1, s', s', time_out)


READERS: dict[str, Callable[[str, DataConfig], FieldPair]] = {
    "darcy": _darcy,
    "burgers": _burgers,
    "navier_stokes": _navier_stokes,
    "navier_stokes_3d": _navier_stokes_3d,
}


def read_benchmark(path: str, config: DataConfig) -> FieldPair:
    """Read every (input, target) pair of ``config.name`` from a benchmark file.

    Args:
        path: The ``.mat`` file.
        config: The data config (name, subsampling, time steps).

    Returns:
        ``(x, y)`` float32 arrays of shapes ``(N, C_in, *grid)`` and ``(N, C_out, *grid)``.

    Raises:
        ValueError: If the dataset has no reader or the file's grid and channels, after
            subsampling, do not match the config.
    """
    if config.name not in READERS:
        raise ValueError(
            f"no .mat reader for dataset {config.name!r}; known: {sorted(READERS)}; "
            "add one to data/mat_files.py"
        )
    x, y = READERS[config.name](path, config)
    if tuple(x.shape[1:]) != config.input_shape or tuple(y.shape[1:]) != config.output_shape:
        raise ValueError(
            f"{path} gives inputs {tuple(x.shape[1:])} and targets {tuple(y.shape[1:])} after "
            f"subsample={config.subsample}, but the config expects {config.input_shape} and "
            f"{config.output_shape}; set data.resolution (and subsample) to match the file"
        )
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
