"""Evaluation over a split, averaged across ranks; used by the trainer and ``--evaluate``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from ..data.sampler import ShardSampler
from ..utils.distributed import DistributedContext
from .config import TrainingConfig
from .task_contract import Batch, DataSplits, MetricSums, Task

SPLITS = ("val", "test")
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
LoaderFactory = Callable[[Dataset[Any], Sampler[int], int], DataLoader[Any]]


class Evaluator:
    """Averages a task's metrics over the validation or test split.

    Args:
        task: Supplies ``evaluation_step`` and ``finalize_metrics``.
        splits: The datasets; the training split is never read.
        config: Training options (``batch_size``, ``num_workers``, ``precision``, ``seed``,
            ``limit_val_batches``).
        context: Rank, world size and device of this process.
        make_loader: Builds a loader from ``(dataset, sampler, seed)``; a plain loader of
            ``config.batch_size`` by default.
        lockstep: Every rank must run the same number of forward passes (a sharded FSDP
            model gathers its weights collectively in each): ranks with fewer evaluation
            batches run discarded forwards on the task's example batch to catch up.
    """

    def __init__(
        self,
        task: Task,
        splits: DataSplits,
        config: TrainingConfig,
        context: DistributedContext,
        make_loader: LoaderFactory | None = None,
        lockstep: bool = False,
    ) -> None:
        self.task = task
        self.lockstep = lockstep
        self.splits = splits
        self.config = config
        self.context = context
        self.device = context.device
        self.make_loader: LoaderFactory = make_loader or self._default_loader

    def _default_loader(
        self, dataset: Dataset[Any], sampler: Sampler[int], seed: int
    ) -> DataLoader[Any]:
        generator = torch.Generator()
        generator.manual_seed(seed)
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            sampler=sampler,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            generator=generator,
        )

    def has_split(self, split: str) -> bool:
        """Whether a split exists.

        Args:
            split: ``val`` or ``test``.

        Returns:
            True when the task built that split.
        """
        return (self.splits.val if split == "val" else self.splits.test) is not None

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.config.uses_amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_AMP_DTYPES[self.config.precision])

    def _to_device(self, batch: Batch) -> Batch:
        non_blocking = self.device.type == "cuda"
        return [tensor.to(self.device, non_blocking=non_blocking) for tensor in batch]

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, split: str = "val", limit_batches: int | None = None
    ) -> dict[str, float]:
        """Average the task's metrics over a split, across every rank.

        Args:
            model: The (unwrapped) model on this process's device.
            split: ``val`` or ``test``.
            limit_batches: At most this many batches per rank (default:
                ``training.limit_val_batches``).

        Returns:
            Metric name -> value; empty when the split does not exist.

        Raises:
            ValueError: If the split name is unknown.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        dataset = self.splits.val if split == "val" else self.splits.test
        if dataset is None:
            return {}
        limit = limit_batches if limit_batches is not None else self.config.limit_val_batches
        sampler = ShardSampler(len(dataset), self.context.world_size, self.context.rank)  # type: ignore[arg-type]
        loader = self.make_loader(dataset, sampler, self.config.seed)
        was_training = model.training
        model.eval()
        totals: MetricSums = {}
        for index, batch in enumerate(loader):
            if limit is not None and index >= limit:
                break
            with self._autocast():
                sums = self.task.evaluation_step(model, self._to_device(batch))
            for key, value in sums.items():
                totals[key] = totals.get(key, torch.zeros((), device=self.device)) + value.float()
        if self.lockstep:
            self._catch_up(model, len(loader) if limit is None else min(len(loader), limit))
        model.train(was_training)
        return self._reduce(totals)

    @torch.no_grad()
    def _catch_up(self, model: nn.Module, batches: int) -> None:
        """Run discarded forwards until this rank has done as many as the busiest rank."""
        most = torch.tensor(float(batches), device=self.device)
        if self.context.is_distributed:
            torch.distributed.all_reduce(most, op=torch.distributed.ReduceOp.MAX)
        filler = self._to_device(self.task.example_batch(1))
        for _ in range(int(most.item()) - batches):
            with self._autocast():
                self.task.evaluation_step(model, filler)

    def _reduce(self, totals: MetricSums) -> dict[str, float]:
        keys = sorted(totals)
        if self.context.is_distributed:
            # A rank with no evaluation batch contributes zeros under rank 0's names.
            shared = self.context.broadcast_object(keys)
            keys = [str(key) for key in shared] if isinstance(shared, list) else keys
        if not keys:
            return {}
        # One all-reduce for every sum: scalars and tensors (e.g. a confusion matrix) flattened.
        # A rank lacking a tensor sum must still contribute zeros of its shape.
        shapes = {key: tuple(totals[key].shape) if key in totals else () for key in keys}
        if self.context.is_distributed:
            shared_shapes = self.context.broadcast_object(shapes)
            shapes = shared_shapes if isinstance(shared_shapes, dict) else shapes
        missing = {key: torch.zeros(shapes[key], device=self.device) for key in keys}
        parts = [totals.get(key, missing[key]).to(self.device).reshape(-1) for key in keys]
        flat = torch.cat(parts)
        self.context.all_reduce_sum(flat)
        values: dict[str, Any] = {}
        for key, chunk in zip(keys, flat.split([part.numel() for part in parts]), strict=True):
            values[key] = chunk.reshape(shapes[key]) if shapes[key] else float(chunk)
        count = values.pop("count", 0.0)
        if count <= 0:
            return {}
        tensors = {key: value for key, value in values.items() if isinstance(value, torch.Tensor)}
        averages = {key: value / count for key, value in values.items() if key not in tensors}
        # The task derives metrics that are not averages (perplexity, macro F1, mIoU).
        metrics = self.task.finalize_metrics(averages)
        return {**metrics, **self.task.finalize_sums(tensors)} if tensors else metrics
