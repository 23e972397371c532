"""Optimizers and learning-rate schedules, registered by name."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import SGD, Adam, AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR, ReduceLROnPlateau

from .config import TrainingConfig

ParamGroups = list[dict[str, Any]]


def parameter_groups(model: nn.Module, weight_decay: float) -> ParamGroups:
    """Split trainable parameters into decayed and non-decayed groups.

    Norm weights, biases (every parameter with fewer than two dimensions) and the
    names a model lists in ``no_weight_decay()`` get no weight decay.

    Args:
        model: The unwrapped model.
        weight_decay: Decay of the other parameters.

    Returns:
        Up to two parameter groups (empty groups are left out).
    """
    no_decay_method = getattr(model, "no_weight_decay", None)
    skip: set[str] = set(no_decay_method()) if callable(no_decay_method) else set()
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if parameter.ndim <= 1 or name in skip:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups: ParamGroups = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


OptimizerBuilder = Callable[[ParamGroups, TrainingConfig, dict[str, bool]], Optimizer]


def _adamw(groups: ParamGroups, config: TrainingConfig, extra: dict[str, bool]) -> Optimizer:
    return AdamW(groups, lr=config.lr, betas=config.betas, **extra)


def _adam(groups: ParamGroups, config: TrainingConfig, extra: dict[str, bool]) -> Optimizer:
    return Adam(groups, lr=config.lr, betas=config.betas, **extra)


def _sgd(groups: ParamGroups, config: TrainingConfig, extra: dict[str, bool]) -> Optimizer:
    return SGD(groups, lr=config.lr, momentum=config.momentum, **extra)


OPTIMIZERS: dict[str, OptimizerBuilder] = {"adamw": _adamw, "adam": _adam, "sgd": _sgd}


def build_optimizer(
    model: nn.Module, config: TrainingConfig, device: torch.device, world_size: int = 1
) -> Optimizer:
    """Create the configured optimizer, fused on CUDA where PyTorch supports it.

    With ``lr_reference_batch`` set, every group starts at the linearly scaled rate
    ``lr * global_batch / lr_reference_batch`` (:meth:`TrainingConfig.scaled_lr`).

    Args:
        model: The unwrapped model.
        config: Training options (``optimizer``, ``lr``, ``weight_decay``, ...).
        device: The training device.
        world_size: Number of ranks (enters the global batch of the lr scaling).

    Returns:
        The optimizer.

    Raises:
        ValueError: If the model has no trainable parameter.
    """
    groups = parameter_groups(model, config.weight_decay)
    if not groups:
        raise ValueError("the model has no trainable parameters")
    lr = config.scaled_lr(world_size)
    for group in groups:
        group["lr"] = lr
    builder = OPTIMIZERS[config.optimizer]
    if device.type == "cuda":
        try:
            return builder(groups, config, {"fused": True})
        except (RuntimeError, TypeError, ValueError):
            pass  # this optimizer or dtype has no fused kernel: use the default one
    return builder(groups, config, {})


@dataclass
class Schedule:
    """A learning-rate scheduler and when to step it.

    Attributes:
        scheduler: The scheduler, or None for a constant rate.
        interval: ``step`` (after every optimizer step) or ``epoch`` (after evaluation,
            with the monitored metric, for reduce-on-plateau).
    """

    scheduler: LRScheduler | ReduceLROnPlateau | None
    interval: str

    def state_dict(self) -> dict[str, Any] | None:
        """The scheduler's state, or None without a scheduler.

        Returns:
            The state mapping.
        """
        return None if self.scheduler is None else self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore the scheduler's state.

        Args:
            state: From :meth:`state_dict`.
        """
        if self.scheduler is not None and state is not None:
            self.scheduler.load_state_dict(state)

    def step_after_optimizer(self) -> None:
        """Advance a per-step scheduler."""
        if self.interval == "step" and isinstance(self.scheduler, LRScheduler):
            self.scheduler.step()

    def step_after_evaluation(self, metric: float) -> None:
        """Advance reduce-on-plateau with the monitored metric.

        Args:
            metric: The value of the monitored validation metric.
        """
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(metric)


ScheduleBuilder = Callable[[Optimizer, TrainingConfig, int, str], Schedule]


def _cosine(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    total = max(1, config.epochs * steps_per_epoch)
    warmup = config.warmup_epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine

    return Schedule(LambdaLR(optimizer, factor), "step")


def _onecycle(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    total = max(2, config.epochs * steps_per_epoch)
    pct_start = config.warmup_epochs / config.epochs if config.warmup_epochs else 0.3
    # The peak is each group's starting rate: the (possibly linearly scaled) lr.
    max_lr = [float(group["lr"]) for group in optimizer.param_groups]
    scheduler = OneCycleLR(optimizer, max_lr=max_lr, total_steps=total, pct_start=pct_start)
    return Schedule(scheduler, "step")


def _step(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    period = config.step_size * steps_per_epoch

    def factor(step: int) -> float:
        return config.gamma ** (step // period)

    return Schedule(LambdaLR(optimizer, factor), "step")


def _multistep(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    total = max(1, config.epochs * steps_per_epoch)
    boundaries = [int(round(fraction * total)) for fraction in config.milestones]

    def factor(step: int) -> float:
        return config.gamma ** sum(step >= boundary for boundary in boundaries)

    return Schedule(LambdaLR(optimizer, factor), "step")


def _plateau(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    scheduler = ReduceLROnPlateau(
        optimizer,
        mode="max" if mode == "max" else "min",
        factor=config.gamma,
        patience=config.plateau_patience,
    )
    return Schedule(scheduler, "epoch")


def _constant(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, mode: str
) -> Schedule:
    return Schedule(None, "step")


SCHEDULES: dict[str, ScheduleBuilder] = {
    "cosine": _cosine,
    "onecycle": _onecycle,
    "step": _step,
    "multistep": _multistep,
    "plateau": _plateau,
    "none": _constant,
}


def build_schedule(
    optimizer: Optimizer, config: TrainingConfig, steps_per_epoch: int, monitor_mode: str = "max"
) -> Schedule:
    """Create the configured learning-rate schedule.

    Args:
        optimizer: The optimizer whose rate it drives.
        config: Training options (``scheduler``, ``warmup_epochs``, ``epochs``, ...).
        steps_per_epoch: Optimizer steps in one epoch (after accumulation).
        monitor_mode: ``max`` or ``min``, for reduce-on-plateau.

    Returns:
        The schedule.
    """
    return SCHEDULES[config.scheduler](optimizer, config, max(1, steps_per_epoch), monitor_mode)


def describe_lr_scaling(config: TrainingConfig, world_size: int) -> str | None:
    """The log line of the linear lr scaling, or None when ``lr_reference_batch`` is unset.

    Args:
        config: Training options.
        world_size: Number of ranks.

    Returns:
        A line naming the configured and the scaled rate and both batch sizes.
    """
    if config.lr_reference_batch is None:
        return None
    batch = config.global_batch(world_size)
    scaled = config.scaled_lr(world_size)
    return (
        f"lr scaling: training.lr={config.lr:.4g} is given for a global batch of "
        f"{config.lr_reference_batch} (training.lr_reference_batch); this run's global batch "
        f"is {batch} (world size {world_size} x batch_size {config.batch_size} x "
        f"grad_accum_steps {config.grad_accum_steps}), so it uses lr={scaled:.4g}"
    )


def current_lr(optimizer: Optimizer) -> float:
    """The learning rate of the first parameter group.

    Args:
        optimizer: The optimizer.

    Returns:
        Its current rate.
    """
    return float(optimizer.param_groups[0]["lr"])


def trainable_parameters(model: nn.Module) -> Iterable[nn.Parameter]:
    """Parameters that receive gradients.

    Args:
        model: Any module.

    Returns:
        The parameters with ``requires_grad``.
    """
    return (p for p in model.parameters() if p.requires_grad)
