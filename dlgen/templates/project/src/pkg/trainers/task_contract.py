"""The task contract: what a task gives the trainer, the smoke check, entry points and tests.

The trainer knows nothing about images, tokens or fields; a task object does. Each
task folder of dlgen provides ``build_task(cfg)`` in ``<package>/task.py`` returning
an object that satisfies :class:`Task`. Task classes subclass :class:`BaseTask`, which
implements the hooks that have a sensible default, or :class:`PreparedDataTask` when
their datasets come with state fitted on the training split (a vocabulary, a tokenizer,
normalisation statistics) that inference needs again. Helpers shared by several tasks
(:func:`class_zero_cross_entropy`) live here too.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ..prediction import Prediction

Batch = Sequence[torch.Tensor]
"""A collated batch: a sequence of tensors whose first dimension is the batch size."""

MetricSums = dict[str, torch.Tensor]
"""Per-batch sums to aggregate: every scalar but ``count`` is divided by ``count`` at the end;
tensors of one or more dimensions (a confusion matrix) are summed and passed to
``finalize_sums``."""

MonitorMode = Literal["max", "min"]
"""Whether a larger (``max``) or a smaller (``min``) monitored metric is better."""


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
    """The task interface the trainer, the smoke check, the entry points and the tests rely on.

    Attributes:
        monitor: Metric that selects the best checkpoint and drives early stopping.
        monitor_mode: ``max`` if larger is better, else ``min``.
    """

    monitor: str
    monitor_mode: MonitorMode

    def build_datasets(self) -> DataSplits:
        """Create the train, validation and test datasets from the config.

        Returns:
            The splits; ``test`` may be None.
        """
        ...

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Loss (and logs) of one micro-batch already on the model's device.

        Args:
            model: The model in train mode (possibly wrapped by DDP or ``torch.compile``).
            batch: A collated batch on the model's device.

        Returns:
            The scalar loss and optional logs.
        """
        ...

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Per-batch metric sums, including ``count``, for one evaluation batch.

        Args:
            model: The model in eval mode.
            batch: A collated batch on the model's device.

        Returns:
            Scalar tensors ``()`` of sums and the ``count`` they are averaged over.
        """
        ...

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Derive metrics that are not averages (perplexity, macro F1) from the averages.

        Args:
            metrics: The averages of :meth:`evaluation_step`'s sums over a split.

        Returns:
            The metrics to report.
        """
        ...

    def finalize_sums(self, sums: dict[str, torch.Tensor]) -> dict[str, float]:
        """Metrics from the non-scalar sums of :meth:`evaluation_step` (e.g. a confusion matrix).

        Args:
            sums: Each tensor summed over the split and every rank (not divided by count),
                e.g. a confusion matrix of shape ``(K, K)``.

        Returns:
            The metrics they give.
        """
        ...

    def example_batch(self, batch_size: int) -> Batch:
        """A deterministic synthetic batch of the config's shapes, on the CPU.

        Args:
            batch_size: B.

        Returns:
            A batch laid out like the training batches.
        """
        ...

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The positional inputs of the model's forward for a batch.

        Args:
            batch: A batch laid out like the training batches.

        Returns:
            The tensors to call the model with.
        """
        ...

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """The model output's shape for a batch of this size.

        Args:
            batch_size: B.

        Returns:
            The shape, starting with B.
        """
        ...

    def batch_tokens(self, batch: Batch) -> int | None:
        """Token positions in a training batch, for the ``tokens_per_s`` the trainer logs.

        Called on every micro-batch: it must read shapes only, never tensor values (that
        would wait for the device).

        Args:
            batch: A batch laid out like the training batches.

        Returns:
            The number of tokens, or None when the inputs are not token ids.
        """
        ...

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
        """A scalar loss of a model output alone (for smoke checks).

        Args:
            output: A model output of shape :meth:`output_shape`, e.g. ``(B, num_classes)``.

        Returns:
            A scalar of shape ``()`` that depends on every output element.
        """
        ...

    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """One prediction per input (a synthetic example when ``inputs`` is empty).

        Args:
            model: The trained model in eval mode.
            inputs: Input files, folders, glob patterns or texts, as the task documents.
            top_k: How many classes (or samples) to report, where the task ranks them.

        Returns:
            The predictions, each with its printable text and its output records.

        Raises:
            InputError: If an input is missing, unreadable or of the wrong shape.
        """
        ...

    def predict(self, model: nn.Module, inputs: Sequence[str]) -> list[str]:
        """Human-readable predictions for inputs (a synthetic example when empty).

        Args:
            model: The trained model in eval mode.
            inputs: Input files or texts, as the task documents.

        Returns:
            Lines to print.
        """
        ...


class BaseTask(Task):
    """The base of every task class: the hooks of :class:`Task` that have a sensible default.

    Subclasses set ``monitor`` and ``monitor_mode`` as class attributes, implement the
    other hooks of :class:`Task` and override a default only where their task differs;
    mypy rejects building a subclass that misses a hook.
    """

    def predict(self, model: nn.Module, inputs: Sequence[str]) -> list[str]:
        """The printable text of each of :meth:`predictions`.

        Args:
            model: The trained model in eval mode.
            inputs: Input files or texts, as the task documents.

        Returns:
            One entry per input.
        """
        return [prediction.text for prediction in self.predictions(model, inputs)]

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Report the averages as they are (override to derive other metrics).

        Args:
            metrics: The averages of :meth:`evaluation_step`'s sums over a split.

        Returns:
            ``metrics`` unchanged.
        """
        return metrics

    def finalize_sums(self, sums: dict[str, torch.Tensor]) -> dict[str, float]:
        """No metric from tensor sums (override when :meth:`evaluation_step` returns some).

        Args:
            sums: Each tensor (e.g. of shape ``(K, K)``) summed over the split and ranks.

        Returns:
            An empty dict.
        """
        del sums
        return {}

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The model's positional inputs: the first tensor of the batch.

        Args:
            batch: ``(inputs, targets, ...)``.

        Returns:
            ``(inputs,)``.
        """
        return (batch[0],)

    def batch_tokens(self, batch: Batch) -> int | None:
        """Token positions of a batch whose first tensor holds token ids.

        A first tensor of integer dtype with two dimensions ``(B, T)`` counts ``B * T``
        tokens (padding included); any other batch (images, fields, float series) has none.

        Args:
            batch: ``(inputs, ...)``.

        Returns:
            ``B * T`` for integer ``(B, T)`` inputs, else None.
        """
        inputs = batch[0]
        if inputs.dim() == 2 and not inputs.is_floating_point() and not inputs.is_complex():
            if inputs.dtype != torch.bool:
                return inputs.numel()
        return None

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
        """Mean square of the output: a scalar that depends on every output element.

        Classifiers override it with :func:`class_zero_cross_entropy`, whose gradient does
        not vanish when the logits are zero.

        Args:
            output: A model output of shape :meth:`output_shape`, e.g. ``(B, H, F)``.

        Returns:
            A scalar loss of shape ``()``.
        """
        return output.float().pow(2).mean()


class HasSplits(Protocol):
    """Prepared data: the datasets and whatever was fitted to build them."""

    @property
    def splits(self) -> DataSplits:
        """The train, validation and test datasets."""
        ...


PreparedT = TypeVar("PreparedT", bound=HasSplits)


class PreparedDataTask(BaseTask, Generic[PreparedT]):
    """A task whose datasets come with fitted state that inference needs again.

    The data is prepared once, on first use, by :meth:`prepare_data`; both
    :meth:`build_datasets` and the task's ``predict`` read it through :meth:`prepared`.
    """

    _prepared: PreparedT | None = None

    @abstractmethod
    def prepare_data(self) -> PreparedT:
        """Load the data, fit what the splits need and build the datasets.

        Returns:
            The prepared data.
        """

    def prepared(self) -> PreparedT:
        """The prepared data, built on the first call.

        Returns:
            The result of :meth:`prepare_data`.
        """
        if self._prepared is None:
            self._prepared = self.prepare_data()
        return self._prepared

    def build_datasets(self) -> DataSplits:
        """The datasets of the prepared data.

        Returns:
            Train, validation and test splits.
        """
        return self.prepared().splits


def class_zero_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every prediction against class 0: a smoke loss for classifiers.

    It depends on every logit and its gradient is non-zero even for all-zero logits.

    Args:
        logits: ``(..., C)`` logits, e.g. ``(B, C)`` or ``(B, T, V)``.

    Returns:
        A scalar loss ``()``.
    """
    flat = logits.float().flatten(0, -2)  # (N, C)
    targets = torch.zeros(flat.shape[0], dtype=torch.long, device=flat.device)
    return F.cross_entropy(flat, targets)
