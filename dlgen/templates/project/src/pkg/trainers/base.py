"""What a task gives the trainer: its data, its training step and its evaluation step.

The trainer knows nothing about images, tokens or graphs; a task object does. Each
task folder of dlgen provides ``build_task(cfg)`` in ``<package>/task.py`` returning
an object that satisfies :class:`Task`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

Batch = Sequence[torch.Tensor]
MetricSums = dict[str, torch.Tensor]
"""Per-batch sums to aggregate: every key but ``count`` is divided by ``count`` at the end."""


@dataclass
class StepOutput:
    """The result of one training step on one micro-batch.

    Attributes:
        loss: Scalar loss to backpropagate (not yet divided for accumulation).
        logs: Detached scalars to log, e.g. batch accuracy.
    """

    loss: torch.Tensor
    logs: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class DataSplits:
    """The datasets of a run; ``test`` may be None when the data has no test split.

    Attributes:
        train: Training samples (random augmentation allowed).
        val: Validation samples (deterministic).
        test: Test samples for the final evaluation, or None.
    """

    train: Dataset[tuple[torch.Tensor, ...]]
    val: Dataset[tuple[torch.Tensor, ...]]
    test: Dataset[tuple[torch.Tensor, ...]] | None = None


class Task(Protocol):
    """The task interface the trainer, the smoke check and the tests rely on.

    Attributes:
        monitor: Metric that selects the best checkpoint and drives early stopping.
        monitor_mode: ``max`` if larger is better, else ``min``.
    """

    monitor: str
    monitor_mode: str

    def build_datasets(self) -> DataSplits:
        """Create the train, validation and test datasets from the config."""
        ...

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Loss (and logs) of one micro-batch already on the model's device."""
        ...

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Per-batch metric sums, including ``count``, for one evaluation batch."""
        ...

    def example_batch(self, batch_size: int) -> Batch:
        """A deterministic synthetic batch of the config's shapes, on the CPU."""
        ...

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The positional inputs of the model's forward for a batch."""
        ...

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """The model output's shape for a batch of this size."""
        ...

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
        """A scalar loss of a model output alone (for smoke checks)."""
        ...

    def predict(self, model: nn.Module, inputs: Sequence[str]) -> list[str]:
        """Human-readable predictions for input files (a synthetic example when empty)."""
        ...
