"""Sequence classification: token sequences or multichannel signals to one class each.

Text batches are ``(tokens (B, L), lengths (B,), labels (B,))``: the model is called as
``model(tokens, lengths)`` so a recurrent model can pack the padded batch (an attention
model can build its padding mask from the lengths). Signal batches are
``(signals (B, C, L), labels (B,))`` and the model is called as ``model(signals)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from .data.config import DataConfig
from .data.datasets import Prepared, prepare
from .data.signals import synthetic_signals
from .metrics.classification import class_counts, macro_f1
from .trainers.task_contract import (
    Batch,
    MetricSums,
    MonitorMode,
    PreparedDataTask,
    StepOutput,
    class_zero_cross_entropy,
    format_top_classes,
)

_COUNT_KEYS = ("tp", "fp", "fn")
# Classes listed per input by ``predict``.
TOP_K = 3


class SequenceClassificationTask(PreparedDataTask[Prepared]):
    """Sequences to logits ``(B, num_classes)``; accuracy selects the best model.

    Args:
        cfg: The full config; reads ``data`` and ``training.label_smoothing``.
    """

    monitor = "accuracy"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.data = DataConfig.from_mapping(cfg.data)
        self.label_smoothing = float(cfg.training.label_smoothing)

    def prepare_data(self) -> Prepared:
        """Load and split ``data.source``; fit the tokenizer or the signal statistics on train.

        Returns:
            The datasets with their tokenizer or statistics.
        """
        return prepare(self.data)

    def model_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The model's positional inputs, trimmed to the longest sequence in the batch.

        Args:
            batch: ``(tokens, lengths, labels)`` or ``(signals, labels)``.

        Returns:
            ``(tokens (B, L'), lengths (B,))`` with ``L'`` the longest real length, or
            ``(signals,)``.
        """
        if not self.data.is_text:
            return (batch[0],)
        tokens, lengths = batch[0], batch[1]
        longest = int(lengths.max())
        return tokens[:, :longest], lengths

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Cross-entropy (with label smoothing when configured) of one batch.

        Args:
            model: Maps the inputs to ``(B, num_classes)`` logits.
            batch: A batch on the model's device.

        Returns:
            The loss.
        """
        logits = model(*self.model_inputs(batch))
        loss = F.cross_entropy(logits.float(), batch[-1], label_smoothing=self.label_smoothing)
        return StepOutput(loss)

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss, correct predictions and per-class counts of one batch.

        Args:
            model: The model in eval mode.
            batch: A batch on the model's device.

        Returns:
            ``loss``, ``accuracy``, ``tp_k``/``fp_k``/``fn_k`` sums and the sample ``count``.
        """
        labels = batch[-1]
        logits = model(*self.model_inputs(batch)).float()
        counts = class_counts(logits, labels, self.data.num_classes)
        sums: MetricSums = {
            "loss": F.cross_entropy(logits, labels, reduction="sum"),
            "accuracy": counts["correct"],
            "count": torch.tensor(float(labels.shape[0]), device=logits.device),
        }
        for key in _COUNT_KEYS:
            for index, value in enumerate(counts[key]):
                sums[f"{key}_{index}"] = value
        return sums

    def finalize_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Turn the averaged per-class counts into macro F1.

        Args:
            metrics: Averages of :meth:`evaluation_step`'s sums.

        Returns:
            ``loss``, ``accuracy`` and ``macro_f1``.
        """
        classes = range(self.data.num_classes)
        counts = {
            key: torch.tensor([metrics.pop(f"{key}_{k}", 0.0) for k in classes])
            for key in _COUNT_KEYS
        }
        metrics["macro_f1"] = macro_f1(counts["tp"], counts["fp"], counts["fn"])
        return metrics

    def example_batch(self, batch_size: int) -> Batch:
        """A deterministic synthetic batch of the configured shapes.

        Token batches have lengths from the full ``max_length`` down to about half of it,
        so padding and packing are exercised.

        Args:
            batch_size: B.

        Returns:
            ``(tokens, lengths, labels)`` or ``(signals, labels)`` on the CPU.
        """
        data = self.data
        generator = torch.Generator().manual_seed(data.split_seed)
        labels = torch.randint(0, data.num_classes, (batch_size,), generator=generator)
        if not data.is_text:
            shape = (data.in_channels, data.sequence_length, data.num_classes)
            signals, _ = synthetic_signals(batch_size, *shape, data.split_seed)
            return torch.from_numpy(signals), labels
        length = data.max_length
        tokens = torch.randint(2, data.vocab_size, (batch_size, length), generator=generator)
        lengths = torch.linspace(length, max(1, length // 2), batch_size).round().long()
        tokens[torch.arange(length)[None, :] >= lengths[:, None]] = 0
        return tokens, lengths, labels

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits.

        Args:
            batch_size: B.

        Returns:
            ``(B, num_classes)``.
        """
        return (batch_size, self.data.num_classes)

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against class 0: a scalar that depends on every logit.

        Args:
            output: ``(B, num_classes)`` logits.

        Returns:
            A scalar loss.
        """
        return class_zero_cross_entropy(output)

    @torch.no_grad()
    def predict(self, model: nn.Module, inputs: Sequence[str]) -> list[str]:
        """Class probabilities for texts (or ``.txt`` files) or ``.npy`` signals.

        The tokenizer (or the signal statistics) is rebuilt from the training data, which
        gives the same result as during training.

        Args:
            model: The trained model in eval mode.
            inputs: Texts or text files for text data; ``.npy`` files of ``(C, L)`` or
                ``(N, C, L)`` for signals. Empty: the first validation samples.

        Returns:
            One line per input: its name and the top classes with probabilities.
        """
        device = next(model.parameters()).device
        names, batch = self._predict_batch(list(inputs))
        logits = model(*(t.to(device) for t in self.model_inputs(batch)))
        return format_top_classes(names, logits, TOP_K, self.data.class_names)

    def _predict_batch(self, inputs: list[str]) -> tuple[list[str], Batch]:
        prepared = self.prepared()
        if not inputs:
            val = prepared.splits.val
            samples = [val[i] for i in range(min(2, len(val)))]  # type: ignore[arg-type]
            columns = [torch.stack(column) for column in zip(*samples, strict=True)]
            return [f"val[{i}]" for i in range(len(samples))], columns
        if not self.data.is_text:
            return _signal_batch(inputs, prepared)
        tokenizer = prepared.tokenizer
        if tokenizer is None:  # pragma: no cover - text data always has one
            raise RuntimeError("text data without a tokenizer")
        texts = [_read_text(item) for item in inputs]
        ids = [
            tokenizer.encode(text)[: self.data.max_length] or [tokenizer.pad_id] for text in texts
        ]
        longest = max(len(row) for row in ids)
        tokens = torch.full((len(ids), longest), tokenizer.pad_id, dtype=torch.long)
        for row, values in enumerate(ids):
            tokens[row, : len(values)] = torch.tensor(values)
        lengths = torch.tensor([len(row) for row in ids])
        names = [item if len(item) <= 40 else item[:37] + "..." for item in inputs]
        return names, [tokens, lengths, torch.zeros(len(ids), dtype=torch.long)]


def _read_text(item: str) -> str:
    """The text of a ``.txt`` file, or the argument itself."""
    path = Path(item)
    if path.suffix == ".txt" and path.is_file():
        return path.read_text(encoding="utf-8")
    return item


def _signal_batch(inputs: list[str], prepared: Prepared) -> tuple[list[str], Batch]:
    """Load ``.npy`` signals and standardise them with the training statistics."""
    arrays = [np.load(path).astype(np.float32) for path in inputs]
    signals = np.concatenate([a[None] if a.ndim == 2 else a for a in arrays])  # (N, C, L)
    if prepared.mean is not None and prepared.std is not None:
        signals = (signals - prepared.mean[None, :, None]) / prepared.std[None, :, None]
    names = [
        f"{path}[{i}]"
        for path, a in zip(inputs, arrays, strict=True)
        for i in range(len(a) if a.ndim == 3 else 1)
    ]
    tensor = torch.from_numpy(np.ascontiguousarray(signals, dtype=np.float32))
    return names, [tensor, torch.zeros(len(tensor), dtype=torch.long)]


def build_task(cfg: DictConfig) -> SequenceClassificationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return SequenceClassificationTask(cfg)
