"""The typed training config: the ``training`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

OPTIMIZER_NAMES = ("adamw", "adam", "sgd")
SCHEDULER_NAMES = ("cosine", "onecycle", "step", "multistep", "plateau", "none")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class TrainingConfig:
    """Every option of ``configs/training/*.yaml``; see that file for what each one does."""

    optimizer: str = "adamw"
    lr: float = 1e-3
    lr_reference_batch: int | None = None
    weight_decay: float = 0.05
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: str = "cosine"
    warmup_epochs: int = 0
    step_size: int = 30
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    plateau_patience: int = 5
    min_lr_ratio: float = 0.0
    epochs: int = 100
    batch_size: int = 64
    grad_accum_steps: int = 1
    grad_clip: float | None = 1.0
    precision: str = "fp32"
    ema: bool = False
    ema_decay: float = 0.9999
    early_stopping_patience: int | None = None
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    seed: int = 42
    deterministic: bool = False
    checkpoint_every: int = 1
    checkpoint_every_steps: int | None = None
    keep_last_checkpoints: int = 3
    eval_every: int = 1
    compile: bool = False
    channels_last: bool | str = "auto"
    tf32: bool = True
    cudnn_benchmark: bool = True
    gradient_checkpointing: bool = False
    distributed: str = "none"
    num_gpus: int = 1
    num_nodes: int = 1
    num_workers: int = 4
    pin_memory: bool = True
    persistent_workers: bool = True
    device: str = "auto"
    max_steps: int | None = None
    limit_train_batches: int | None = None
    limit_val_batches: int | None = None
    log_every_steps: int = 50
    nonfinite_check_every_steps: int | None = None
    flops_per_sample: float | None = None
    progress_bar: bool = True
    tensorboard: bool = True
    wandb: bool = False
    run_name: str | None = None

    def __post_init__(self) -> None:
        """Check ranges and choices.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        _choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        _choice("scheduler", self.scheduler, SCHEDULER_NAMES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("distributed", self.distributed, ("none", "ddp", "fsdp"))
        for name in ("lr", "epochs", "batch_size", "grad_accum_steps", "checkpoint_every"):
            _positive(name, getattr(self, name))
        for name in ("keep_last_checkpoints", "eval_every", "log_every_steps", "step_size"):
            _positive(name, getattr(self, name))
        for name in ("checkpoint_every_steps", "max_steps", "limit_train_batches"):
            _positive_or_none(name, getattr(self, name))
        for name in ("limit_val_batches", "early_stopping_patience", "grad_clip"):
            _positive_or_none(name, getattr(self, name))
        _positive_or_none("lr_reference_batch", self.lr_reference_batch)
        _positive_or_none("nonfinite_check_every_steps", self.nonfinite_check_every_steps)
        _positive_or_none("flops_per_sample", self.flops_per_sample)
        if self.channels_last not in (True, False, "auto"):
            raise ValueError(
                f"training.channels_last={self.channels_last!r} must be true, false or 'auto'"
            )
        if self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"training.warmup_epochs={self.warmup_epochs} must be in [0, epochs={self.epochs})"
            )
        for name in ("label_smoothing", "momentum", "min_lr_ratio"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"training.{name}={getattr(self, name)} must be in [0, 1)")
        if not 0.0 < self.ema_decay < 1.0 or not 0.0 < self.gamma <= 1.0:
            raise ValueError("training.ema_decay must be in (0, 1) and training.gamma in (0, 1]")
        if list(self.milestones) != sorted(self.milestones) or not all(
            0.0 < m < 1.0 for m in self.milestones
        ):
            raise ValueError(
                f"training.milestones={list(self.milestones)} must be increasing fractions "
                "in (0, 1)"
            )
        if self.mixup_alpha < 0 or self.cutmix_alpha < 0 or self.weight_decay < 0:
            raise ValueError("training.mixup_alpha, cutmix_alpha and weight_decay must be >= 0")
        if self.num_workers < 0 or self.seed < 0:
            raise ValueError("training.num_workers and training.seed must be >= 0")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainingConfig:
        """Build from the ``training`` config section.

        Args:
            values: The section (a DictConfig or a dict).

        Returns:
            The checked config.

        Raises:
            ValueError: If a key is unknown or a value is out of range.
        """
        kwargs = section_kwargs(cls, values, "training")
        if "betas" in kwargs:
            betas = [float(beta) for beta in kwargs["betas"]]
            if len(betas) != 2:
                raise ValueError(f"training.betas must hold two numbers, got {betas}")
            kwargs["betas"] = (betas[0], betas[1])
        if "milestones" in kwargs:
            kwargs["milestones"] = tuple(float(m) for m in kwargs["milestones"])
        for name in ("lr", "weight_decay", "momentum", "gamma", "ema_decay", "min_lr_ratio"):
            if name in kwargs:
                kwargs[name] = float(kwargs[name])
        if kwargs.get("flops_per_sample") is not None:
            kwargs["flops_per_sample"] = float(kwargs["flops_per_sample"])
        return cls(**kwargs)

    @property
    def uses_amp(self) -> bool:
        """Whether forward passes run under autocast."""
        return self.precision != "fp32"

    @property
    def check_every_steps(self) -> int:
        """Optimizer steps between checks of the on-device non-finite-loss flag."""
        if self.nonfinite_check_every_steps is not None:
            return self.nonfinite_check_every_steps
        return self.log_every_steps

    def global_batch(self, world_size: int) -> int:
        """Samples per optimizer step over every rank.

        Args:
            world_size: Number of ranks.

        Returns:
            ``world_size * batch_size * grad_accum_steps``.
        """
        return world_size * self.batch_size * self.grad_accum_steps

    def scaled_lr(self, world_size: int) -> float:
        """The learning rate the run uses: linearly scaled when ``lr_reference_batch`` is set.

        Args:
            world_size: Number of ranks.

        Returns:
            ``lr * global_batch / lr_reference_batch``, or ``lr`` without a reference batch.
        """
        if self.lr_reference_batch is None:
            return self.lr
        return self.lr * self.global_batch(world_size) / self.lr_reference_batch


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"training.{name}={value!r} is not one of {list(allowed)}")


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"training.{name}={value} must be > 0")


def _positive_or_none(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"training.{name}={value} must be > 0 or null")
