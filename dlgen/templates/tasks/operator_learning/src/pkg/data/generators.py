"""PDE data generators registered by dataset name, with an on-disk cache.

``data.source=generator`` solves the PDE for random inputs instead of reading the
benchmark files: nothing is downloaded. Each split is generated from its own seed and
cached under ``data.root`` as ``<name>_<key>.npz``, where the key hashes the dataset name,
the sample count, the resolution, the generator settings and the seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .burgers import BurgersSettings, generate_burgers
from .config import DataConfig
from .darcy import DarcySettings, generate_darcy

Arrays = dict[str, np.ndarray]
CACHE_FORMAT = 1
SettingsT = TypeVar("SettingsT", BurgersSettings, DarcySettings)


def _settings(kind: type[SettingsT], resolution: int, options: Mapping[str, Any]) -> SettingsT:
    known = {f.name for f in dataclasses.fields(kind)} - {"resolution"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown data.generator option(s) {unknown}; known: {sorted(known)}")
    return kind(resolution=resolution, **options)


def _darcy(num_samples: int, config: DataConfig, seed: int) -> Arrays:
    settings = _settings(DarcySettings, config.resolution, config.generator)
    return generate_darcy(num_samples, settings, seed)


def _burgers(num_samples: int, config: DataConfig, seed: int) -> Arrays:
    settings = _settings(BurgersSettings, config.resolution, config.generator)
    return generate_burgers(num_samples, settings, seed)


GENERATORS: dict[str, Callable[[int, DataConfig, int], Arrays]] = {
    "darcy": _darcy,
    "burgers": _burgers,
}


def cache_key(name: str, num_samples: int, config: DataConfig, seed: int) -> str:
    """A short hash of everything that determines a generated split.

    Args:
        name: Dataset name.
        num_samples: Samples in the split.
        config: The data config (resolution and generator settings are used).
        seed: The split's seed.

    Returns:
        16 hexadecimal characters.
    """
    identity = {
        "format": CACHE_FORMAT,
        "name": name,
        "num_samples": num_samples,
        "resolution": config.resolution,
        "generator": dict(sorted(config.generator.items())),
        "seed": seed,
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def generate(config: DataConfig, num_samples: int, seed: int) -> Arrays:
    """Generate (or load from the cache) one split of ``config.name``.

    Args:
        config: The data config.
        num_samples: Number of (input, target) pairs.
        seed: Seed of the random inputs.

    Returns:
        ``x`` ``(num_samples, C_in, *grid)`` and ``y`` ``(num_samples, C_out, *grid)``, float32.

    Raises:
        ValueError: If the dataset has no generator.
    """
    if config.name not in GENERATORS:
        raise ValueError(
            f"dlgen ships no generator for dataset {config.name!r} (it has: "
            f"{sorted(GENERATORS)}); use data.source=mat with data.path, or synthetic"
        )
    path = (
        Path(config.root) / f"{config.name}_{cache_key(config.name, num_samples, config, seed)}.npz"
    )
    if config.cache and path.is_file():
        with np.load(path) as stored:
            return {"x": stored["x"], "y": stored["y"]}
    arrays = GENERATORS[config.name](num_samples, config, seed)
    if config.cache:
        _save_atomic(path, arrays)
    return arrays


def _save_atomic(path: Path, arrays: Arrays) -> None:
    """Write an ``.npz`` so that a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, x=arrays["x"], y=arrays["y"])
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
