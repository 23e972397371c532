"""Run logging: console and ``train.log`` lines, TensorBoard scalars, W&B when enabled.

Console lines go through ``tqdm.write``, so they print above an active progress bar
instead of breaking it; rank 0 also appends every line to ``<output_dir>/train.log``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import torch
from tqdm import tqdm

LOGGER_NAME = "train"
LOG_FILE = "train.log"

# Dense bf16/fp16 tensor-core peaks in FLOP/s by device-name fragment (the most specific
# fragment first); MFU is reported only for these GPUs.
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756e12),
    ("H100", 989.4e12),
    ("H200", 989.4e12),
    ("A100", 312e12),
)


class TqdmHandler(logging.Handler):
    """Writes records with ``tqdm.write``: above an active progress bar, never through it.

    Args:
        stream: Where to write; ``sys.stderr`` at the time of each record by default.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record.

        Args:
            record: The log record.
        """
        try:
            tqdm.write(self.format(record), file=self.stream or sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class RunFileHandler(logging.FileHandler):
    """Appends a run's lines to its ``train.log`` (one such handler is attached at a time)."""


def get_logger(is_main: bool = True) -> logging.Logger:
    """The run's console logger; non-main ranks only log warnings.

    Args:
        is_main: Whether this is rank 0.

    Returns:
        A configured logger writing to stderr through ``tqdm.write``.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(handler, TqdmHandler) for handler in logger.handlers):
        handler = TqdmHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if is_main else logging.WARNING)
    return logger


def attach_log_file(logger: logging.Logger, path: Path) -> RunFileHandler:
    """Send the logger's lines to a file too, replacing the file of a previous run.

    Args:
        logger: The run's logger (:func:`get_logger`).
        path: The log file; created with its folder, appended to when it exists (resume).

    Returns:
        The handler, for :func:`detach_log_file`.
    """
    for handler in [h for h in logger.handlers if isinstance(h, RunFileHandler)]:
        detach_log_file(logger, handler)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RunFileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logger.addHandler(handler)
    return handler


def detach_log_file(logger: logging.Logger, handler: logging.Handler) -> None:
    """Stop writing to a log file and close it.

    Args:
        logger: The logger it is attached to.
        handler: From :func:`attach_log_file`.
    """
    logger.removeHandler(handler)
    handler.close()


def device_peak_flops(device: torch.device) -> float | None:
    """Dense bf16 peak FLOP/s of a known GPU, for MFU.

    Args:
        device: The training device.

    Returns:
        The peak of an A100, H100 or H200; None for any other device.
    """
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, peak in PEAK_FLOPS:
        if fragment in name:
            return peak
    return None


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
    """Sends lines to the console and ``train.log``, scalars to TensorBoard and W&B (rank 0).

    Off rank 0 it only prints warnings.

    Args:
        output_dir: Run folder: ``<output_dir>/train.log`` and ``<output_dir>/tensorboard``.
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
        self._file: logging.Handler | None = None
        if not is_main:
            return
        self._file = attach_log_file(self.console, output_dir / LOG_FILE)
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
        """Flush and close the writers and the log file."""
        if self._file is not None:
            detach_log_file(self.console, self._file)
            self._file = None
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
