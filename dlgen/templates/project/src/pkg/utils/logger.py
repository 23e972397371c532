"""Run logging: console lines, TensorBoard scalars, and W&B when installed and enabled."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import torch

LOGGER_NAME = "train"


def get_logger(is_main: bool = True) -> logging.Logger:
    """The run's console logger; non-main ranks only log warnings.

    Args:
        is_main: Whether this is rank 0.

    Returns:
        A configured logger writing to stderr.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if is_main else logging.WARNING)
    return logger


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process on a device, in MiB.

    CUDA reports the peak allocated by PyTorch; MPS the current allocation; the CPU
    the peak resident set size of the process.

    Args:
        device: The training device.

    Returns:
        Megabytes (2**20 bytes).
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    if device.type == "mps":
        return float(torch.mps.current_allocated_memory()) / 2**20
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak_kb / 2**20 if sys.platform == "darwin" else peak_kb / 2**10


class RunLogger:
    """Sends scalars to the console, TensorBoard and W&B; a no-op off rank 0.

    Args:
        output_dir: Run folder; TensorBoard writes to ``<output_dir>/tensorboard``.
        is_main: Whether this is rank 0.
        tensorboard: Enable TensorBoard.
        wandb: Enable Weights & Biases (ignored with a warning when not installed).
        config: Resolved config, recorded by W&B.
        project: W&B project name.
    """

    def __init__(
        self,
        output_dir: Path,
        is_main: bool,
        tensorboard: bool,
        wandb: bool,
        config: Mapping[str, Any] | None = None,
        project: str = "dlgen",
    ) -> None:
        self.is_main = is_main
        self.console = get_logger(is_main)
        self._writer: Any = None
        self._wandb: Any = None
        if not is_main:
            return
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(output_dir / "tensorboard"))
        if wandb:
            if importlib.util.find_spec("wandb") is None:
                self.console.warning("training.wandb=true but wandb is not installed; skipping it")
            else:
                import wandb as wandb_module

                wandb_module.init(project=project, config=dict(config or {}), dir=str(output_dir))
                self._wandb = wandb_module

    def log_scalars(self, scalars: Mapping[str, float], step: int, prefix: str = "") -> None:
        """Record scalars at a global step.

        Args:
            scalars: Name -> value.
            step: Optimizer steps taken.
            prefix: Prepended to every name, e.g. ``train/``.
        """
        if not self.is_main:
            return
        named = {f"{prefix}{key}": float(value) for key, value in scalars.items()}
        if self._writer is not None:
            for key, value in named.items():
                self._writer.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(named, step=step)

    def info(self, message: str) -> None:
        """Print a line on rank 0.

        Args:
            message: The text.
        """
        self.console.info(message)

    def close(self) -> None:
        """Flush and close the writers."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None

    def __enter__(self) -> RunLogger:
        """Use as a context manager that closes the writers.

        Returns:
            Self.
        """
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the writers.

        Args:
            exc_type: Exception type, if one is propagating.
            exc: The exception.
            traceback: Its traceback.
        """
        self.close()


def format_scalars(scalars: Mapping[str, float]) -> str:
    """``name=value`` pairs for a console line.

    Args:
        scalars: Name -> value.

    Returns:
        The formatted pairs separated by spaces.
    """
    return " ".join(f"{key}={value:.4g}" for key, value in scalars.items())
