"""Seeding, deterministic mode, and RNG states that fit in a ``weights_only`` checkpoint."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

RngState = dict[str, object]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (every device), optionally in deterministic mode.

    Args:
        seed: The seed.
        deterministic: Make PyTorch use deterministic algorithms (errors on ops that
            have none) and disable cuDNN autotuning.

    Raises:
        ValueError: If the seed is negative.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def capture_rng_state() -> RngState:
    """The state of every random generator, as tensors and primitives.

    Returns:
        A mapping with ``python``, ``numpy``, ``torch`` and (when available) ``cuda``.
    """
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    state: RngState = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: RngState) -> None:
    """Restore the generators from :func:`capture_rng_state`'s output.

    Args:
        state: A captured state (as loaded from a checkpoint).

    Raises:
        KeyError: If the state lacks one of the generators.
    """
    python = state["python"]
    numpy_state = state["numpy"]
    if not isinstance(python, dict) or not isinstance(numpy_state, dict):
        raise KeyError("malformed RNG state: 'python' and 'numpy' must be mappings")
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    keys = numpy_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (
            numpy_state["kind"],
            keys,
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    torch_state = state["torch"]
    if not isinstance(torch_state, torch.Tensor):
        raise KeyError("malformed RNG state: 'torch' must be a tensor")
    torch.set_rng_state(torch_state)
    cuda_state = state.get("cuda")
    if cuda_state is not None and torch.cuda.is_available():
        if isinstance(cuda_state, list) and len(cuda_state) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_state)
