"""Checkpoints: atomic writes, ``weights_only`` loads, keep the last K plus the best."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_PATTERN = re.compile(r"^step_(\d{8,})\.pt$")
BEST_NAME = "best.pt"


def save_checkpoint(state: Mapping[str, Any], path: Path | str) -> Path:
    """Write a checkpoint atomically: temp file in the same folder, fsync, rename.

    A reader never sees a half-written file, even if the process is killed mid-write.

    Args:
        state: Tensors, primitives and containers of them (no arbitrary objects, so
            the file loads with ``weights_only=True``).
        path: Destination file.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    Args:
        path: The checkpoint file.
        map_location: Where to put the tensors.

    Returns:
        The state mapping.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a checkpoint mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a checkpoint mapping")
    return state


def checkpoint_step(path: Path) -> int | None:
    """The optimizer step encoded in a ``step_XXXXXXXX.pt`` name.

    Args:
        path: A checkpoint path.

    Returns:
        The step, or None for other names.
    """
    match = CHECKPOINT_PATTERN.match(path.name)
    return int(match.group(1)) if match else None


def latest_checkpoint(directory: Path | str) -> Path | None:
    """The step checkpoint with the highest step in a folder.

    Args:
        directory: Folder to search.

    Returns:
        Its path, or None when there is none.
    """
    found = [(checkpoint_step(p), p) for p in Path(directory).glob("step_*.pt")]
    ranked = sorted((step, path) for step, path in found if step is not None)
    return ranked[-1][1] if ranked else None


class CheckpointManager:
    """Writes ``step_XXXXXXXX.pt`` files, keeps the last K, and a copy of the best.

    Args:
        directory: Folder of the checkpoints.
        keep_last: How many step checkpoints to keep.
        mode: ``max`` or ``min``: whether a larger monitored metric is better.
    """

    def __init__(self, directory: Path | str, keep_last: int, mode: str = "max") -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        if mode not in {"max", "min"}:
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.directory = Path(directory)
        self.keep_last = keep_last
        self.mode = mode
        self.best_metric: float | None = None

    def path_for(self, step: int) -> Path:
        """The file name of the checkpoint at an optimizer step.

        Args:
            step: Optimizer steps taken.

        Returns:
            ``<directory>/step_XXXXXXXX.pt``.
        """
        return self.directory / f"step_{step:08d}.pt"

    def is_better(self, metric: float) -> bool:
        """Whether a metric value beats the best seen so far.

        Args:
            metric: The monitored metric.

        Returns:
            True for the first value and for improvements.
        """
        if self.best_metric is None:
            return True
        return metric > self.best_metric if self.mode == "max" else metric < self.best_metric

    def save(self, state: Mapping[str, Any], step: int) -> Path:
        """Write a step checkpoint and drop the oldest beyond ``keep_last``.

        Args:
            state: The checkpoint mapping.
            step: Optimizer steps taken.

        Returns:
            The written path.
        """
        path = save_checkpoint(state, self.path_for(step))
        steps = sorted(
            (s, p)
            for p in self.directory.glob("step_*.pt")
            if (s := checkpoint_step(p)) is not None
        )
        for _, old in steps[: max(0, len(steps) - self.keep_last)]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self, state: Mapping[str, Any], metric: float) -> bool:
        """Write ``best.pt`` if the metric improves on the best so far.

        Args:
            state: The checkpoint mapping.
            metric: The monitored metric for this state.

        Returns:
            Whether the file was written.
        """
        if not self.is_better(metric):
            return False
        self.write_best(state, metric)
        return True

    def write_best(self, state: Mapping[str, Any], metric: float) -> Path:
        """Write ``best.pt`` unconditionally and record its metric.

        Args:
            state: The checkpoint mapping.
            metric: The monitored metric for this state.

        Returns:
            The written path.
        """
        self.best_metric = metric
        return save_checkpoint({**state, "best_metric": metric}, self.directory / BEST_NAME)


def _fsync_directory(directory: Path) -> None:
    """Persist a rename on POSIX file systems (no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
