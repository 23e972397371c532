"""Checkpoints and run folders: atomic writes, ``weights_only`` loads, keep-last-K + best.

Every run writes into its own folder ``<output_dir>/<run>/`` (``checkpoints/``,
``config.yaml``, ``train.log``, ``tensorboard/``, ``metrics.json``); ``<run>`` is
``training.run_name`` or the start time ``YYYYmmdd-HHMMSS``.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_PATTERN = re.compile(r"^step_(\d{8,})\.pt$")
BEST_NAME = "best.pt"
CHECKPOINT_DIR = "checkpoints"
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


def new_run_dir(output_dir: Path | str, run_name: str | None = None) -> Path:
    """The folder of a new run: ``<output_dir>/<run_name>`` or ``<output_dir>/<timestamp>``.

    A timestamp (``YYYYmmdd-HHMMSS``) that is already taken gets a ``-2``, ``-3``, ...
    suffix. The folder is not created.

    Args:
        output_dir: The experiment folder (``cfg.output_dir``).
        run_name: ``training.run_name``; None for a timestamp.

    Returns:
        The run folder.

    Raises:
        ValueError: If ``run_name`` is not a plain folder name, or names a run that already
            has checkpoints (resume it with ``--resume`` or choose another name).
    """
    root = Path(output_dir)
    if run_name is not None:
        if not RUN_NAME_PATTERN.match(run_name):
            raise ValueError(
                f"training.run_name={run_name!r} must be a folder name of letters, digits, "
                "'_', '-' and '.'"
            )
        run_dir = root / run_name
        if any((run_dir / CHECKPOINT_DIR).glob("*.pt")):
            raise ValueError(
                f"run folder {run_dir} already holds checkpoints; continue it with "
                f"--resume {run_dir}, or choose another training.run_name"
            )
        return run_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir, suffix = root / stamp, 1
    while run_dir.exists():
        suffix += 1
        run_dir = root / f"{stamp}-{suffix}"
    return run_dir


def run_dir_of(checkpoint: Path | str) -> Path | None:
    """The run folder a checkpoint belongs to (``<run>/checkpoints/<file>`` -> ``<run>``).

    Args:
        checkpoint: A checkpoint file.

    Returns:
        The run folder, or None when the file is not inside a ``checkpoints/`` folder.
    """
    parent = Path(checkpoint).parent
    return parent.parent if parent.name == CHECKPOINT_DIR else None


def latest_run(output_dir: Path | str) -> tuple[Path, Path] | None:
    """The experiment's most recent run: the one whose last checkpoint is newest (mtime).

    Args:
        output_dir: The experiment folder holding ``<run>/checkpoints/``.

    Returns:
        ``(run folder, its last step checkpoint)``, or None when no run has one.
    """
    candidates: list[tuple[float, str, Path, Path]] = []
    for directory in Path(output_dir).glob(f"*/{CHECKPOINT_DIR}"):
        last = latest_checkpoint(directory)
        if last is not None:
            candidates.append((last.stat().st_mtime, directory.parent.name, directory.parent, last))
    if not candidates:
        return None
    _, _, run_dir, last = max(candidates)
    return run_dir, last


def resolve_checkpoint(path: Path | str) -> Path:
    """A checkpoint file from a checkpoint, a ``checkpoints/`` folder or a run folder.

    Args:
        path: A ``.pt`` file, a run folder (its last step checkpoint), or a checkpoint
            folder (its last step checkpoint).

    Returns:
        The checkpoint file.

    Raises:
        FileNotFoundError: If the path does not exist or the folder holds no checkpoint.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint or run folder {path} does not exist")
    folder = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
    found = latest_checkpoint(folder)
    if found is None:
        raise FileNotFoundError(f"no step_*.pt checkpoint in {folder}")
    return found


# data.* keys that fix tensor shapes; a resumed run must keep them (those present).
DATA_SHAPE_KEYS = (
    "in_channels",
    "image_size",
    "num_classes",
    "vocab_size",
    "block_size",
    "max_length",
    "sequence_length",
    "input_length",
    "horizon",
    "num_features",
    "resolution",
)
# training.* keys whose new value the restored optimizer/scheduler state overrides.
_OPTIMIZER_KEYS = ("lr", "lr_reference_batch", "weight_decay", "momentum", "betas")
_SCHEDULER_KEYS = {
    "onecycle": ("epochs", "warmup_epochs"),
    "plateau": ("gamma", "plateau_patience"),
}


def resume_conflicts(
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    saved_world_size: int,
    world_size: int,
) -> tuple[list[str], list[str]]:
    """Compare a checkpoint's config with the config of the run that resumes it.

    Args:
        saved: The resolved config stored in the checkpoint.
        current: The resolved config of this run.
        saved_world_size: The number of processes that wrote the checkpoint.
        world_size: The number of processes now.

    Returns:
        ``(errors, warnings)``: differences that break the resume (model config,
        ``batch_size``, ``grad_accum_steps``, optimizer or scheduler kind, world size, data
        shapes), and overrides the restored state cannot honour (one line each).
    """
    errors: list[str] = []
    warnings: list[str] = []
    saved_model, model = dict(saved.get("model", {})), dict(current.get("model", {}))
    if saved_model != model:
        keys = sorted(
            key for key in set(saved_model) | set(model) if saved_model.get(key) != model.get(key)
        )
        errors.append(f"model config differs in {keys}")
    saved_training, training = dict(saved.get("training", {})), dict(current.get("training", {}))
    for key in ("batch_size", "grad_accum_steps", "optimizer", "scheduler"):
        if saved_training.get(key) != training.get(key):
            errors.append(
                f"training.{key}={training.get(key)!r} (checkpoint: {saved_training.get(key)!r})"
            )
    if saved_world_size != world_size:
        errors.append(f"world size {world_size} (checkpoint: {saved_world_size})")
    saved_data, data = dict(saved.get("data", {})), dict(current.get("data", {}))
    for key in DATA_SHAPE_KEYS:
        if key in saved_data and key in data and saved_data[key] != data[key]:
            errors.append(f"data.{key}={data[key]!r} (checkpoint: {saved_data[key]!r})")
    ignored = [*_OPTIMIZER_KEYS, *_SCHEDULER_KEYS.get(str(training.get("scheduler")), ())]
    for key in ignored:
        if saved_training.get(key) != training.get(key):
            warnings.append(
                f"training.{key}={training.get(key)!r} is not applied: the optimizer and "
                f"scheduler state restored from the checkpoint keep {saved_training.get(key)!r}; "
                "start a new run to use it"
            )
    if saved_training.get("seed") != training.get("seed"):
        warnings.append(
            f"training.seed={training.get('seed')!r} (checkpoint: {saved_training.get('seed')!r}): "
            "the remaining data order follows the new seed, so the run will not match an "
            "uninterrupted one"
        )
    return errors, warnings


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
