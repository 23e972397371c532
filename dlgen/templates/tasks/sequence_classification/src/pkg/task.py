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
from .prediction import (
    InputError,
    Prediction,
    expand_paths,
    is_glob,
    one_line,
    short_name,
    top_class_predictions,
)
from .trainers.task_contract import (
    Batch,
    MetricSums,
    MonitorMode,
    PreparedDataTask,
    StepOutput,
    class_zero_cross_entropy,
)

_COUNT_KEYS = ("tp", "fp", "fn")
# Classes listed per input by ``predict``.
TOP_K = 3
# File name endings ``inference.py`` reads as texts and as signals.
TEXT_SUFFIXES = (".txt",)
SIGNAL_SUFFIXES = (".npy",)


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
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Class probabilities for texts (or ``.txt`` files) or ``.npy`` signals.

        The tokenizer (or the signal statistics) is rebuilt from the training data, which
        gives the same result as during training.

        Args:
            model: The trained model in eval mode.
            inputs: Text data: texts, ``.txt`` files, folders of them or ``*.txt`` patterns.
                Signals: ``.npy`` files of ``(C, L)`` or ``(N, C, L)``, folders or patterns.
                Empty: the first validation samples.
            top_k: Classes per input (default 3, at most ``num_classes``).

        Returns:
            One prediction per input (per signal of a stacked ``.npy``).

        Raises:
            InputError: If a path is missing, a folder holds no input file, or a file is
                unreadable or holds a signal of the wrong shape.
        """
        device = next(model.parameters()).device
        names, batch = self._predict_batch(list(inputs))
        logits = model(*(t.to(device) for t in self.model_inputs(batch)))
        k = top_k if top_k is not None else TOP_K
        return top_class_predictions(names, logits, k, self.data.class_names)

    def _predict_batch(self, inputs: list[str]) -> tuple[list[str], Batch]:
        prepared = self.prepared()
        if not inputs:
            val = prepared.splits.val
            samples = [val[i] for i in range(min(2, len(val)))]  # type: ignore[arg-type]
            columns = [torch.stack(column) for column in zip(*samples, strict=True)]
            return [f"val[{i}]" for i in range(len(samples))], columns
        if not self.data.is_text:
            paths = expand_paths(inputs, SIGNAL_SUFFIXES, "signal")
            return _signal_batch(paths, prepared, self.data.in_channels, self.data.sequence_length)
        tokenizer = prepared.tokenizer
        if tokenizer is None:  # pragma: no cover - text data always has one
            raise RuntimeError("text data without a tokenizer")
        names, texts = _read_texts(inputs)
        ids = [
            tokenizer.encode(text)[: self.data.max_length] or [tokenizer.pad_id] for text in texts
        ]
        longest = max(len(row) for row in ids)
        tokens = torch.full((len(ids), longest), tokenizer.pad_id, dtype=torch.long)
        for row, values in enumerate(ids):
            tokens[row, : len(values)] = torch.tensor(values)
        lengths = torch.tensor([len(row) for row in ids])
        return names, [tokens, lengths, torch.zeros(len(ids), dtype=torch.long)]


def _names_a_path(item: str) -> bool:
    """Whether a text-task argument names files rather than being the text itself.

    Args:
        item: A command-line argument.

    Returns:
        True for an existing file or folder, or an argument ending in ``.txt`` (a file
        name or a pattern such as ``reviews/*.txt``).
    """
    path = Path(item)
    if path.is_dir() or path.is_file():
        return True
    return item.lower().endswith(TEXT_SUFFIXES) and (is_glob(item) or " " not in item)


def _read_texts(inputs: list[str]) -> tuple[list[str], list[str]]:
    """The display names and texts of text-task arguments.

    Args:
        inputs: Texts, ``.txt`` files, folders of them or ``*.txt`` patterns.

    Returns:
        ``(names, texts)``: file paths or shortened texts, and the texts.

    Raises:
        InputError: If a path is missing or unreadable, or a folder holds no ``.txt`` file.
    """
    names: list[str] = []
    texts: list[str] = []
    for item in inputs:
        if not _names_a_path(item):
            names.append(short_name(item))
            texts.append(item)
            continue
        for path in expand_paths([item], TEXT_SUFFIXES, "text"):
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(
                    f"{path}: not a readable UTF-8 text file ({one_line(exc)})"
                ) from exc
            names.append(str(path))
    return names, texts


def _signal_batch(
    paths: list[Path], prepared: Prepared, channels: int, length: int
) -> tuple[list[str], Batch]:
    """Load ``.npy`` signals and standardise them with the training statistics.

    Args:
        paths: ``.npy`` files of ``(C, L)`` or ``(N, C, L)``.
        prepared: The prepared data (its per-channel mean and std).
        channels: C the model was trained on.
        length: L the model was trained on.

    Returns:
        ``(names, [signals (N, C, L), zeros (N,)])``.

    Raises:
        InputError: If a file is unreadable or holds an array of another shape.
    """
    arrays = []
    for path in paths:
        try:
            array = np.asarray(np.load(path), dtype=np.float32)
        except (OSError, ValueError, EOFError, TypeError) as exc:
            raise InputError(f"{path}: not a readable numeric array ({one_line(exc)})") from exc
        if array.ndim not in (2, 3) or array.shape[-2:] != (channels, length):
            raise InputError(
                f"{path} holds an array of shape {tuple(array.shape)}; expected "
                f"({channels}, {length}) or (N, {channels}, {length})"
            )
        arrays.append(array)
    signals = np.concatenate([a[None] if a.ndim == 2 else a for a in arrays])  # (N, C, L)
    if prepared.mean is not None and prepared.std is not None:
        signals = (signals - prepared.mean[None, :, None]) / prepared.std[None, :, None]
    names = [
        str(path) if a.ndim == 2 else f"{path}[{i}]"
        for path, a in zip(paths, arrays, strict=True)
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
