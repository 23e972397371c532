"""The task-agnostic training loop: AMP, accumulation, clipping, EMA, DDP, resumable runs.

A :class:`~.task_contract.Task` supplies the data and the loss of a batch; this module does
everything else. A run can be killed at any moment and resumed from its last
checkpoint, mid-epoch included: the epoch's order is replayed from ``(seed, epoch)``
and the batches already seen are skipped, so the resumed run ends with the same
weights as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from ..config import to_container
from ..data.sampler import ResumableSampler, SeededDataset, ShardSampler
from ..utils.checkpoint import CheckpointManager, load_checkpoint
from ..utils.distributed import DistributedContext
from ..utils.ema import ModelEma
from ..utils.logger import RunLogger, format_scalars, peak_memory_mb
from ..utils.seed import capture_rng_state, restore_rng_state
from .config import TrainingConfig
from .optim import Schedule, build_optimizer, build_schedule, current_lr
from .task_contract import Batch, DataSplits, MetricSums, Task

CHECKPOINT_FORMAT = 1
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the step and likely causes."""


@dataclass
class TrainState:
    """Counters that locate a run in time; saved in every checkpoint.

    Attributes:
        epoch: The epoch in progress (zero-based).
        batch_in_epoch: Micro-batches of that epoch already consumed.
        global_step: Optimizer steps taken.
        best_metric: Best monitored validation metric so far.
        bad_evaluations: Evaluations since the last improvement (early stopping).
    """

    epoch: int = 0
    batch_in_epoch: int = 0
    global_step: int = 0
    best_metric: float | None = None
    bad_evaluations: int = 0


@dataclass
class FitResult:
    """What a call to :meth:`Trainer.fit` achieved.

    Attributes:
        state: Counters at the end.
        val_metrics: The last validation metrics.
        test_metrics: Final test metrics (empty when the run stopped at ``max_steps``).
        stop_reason: ``completed``, ``early_stopping`` or ``max_steps``.
        last_checkpoint: The last checkpoint written, if any.
    """

    state: TrainState
    val_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    stop_reason: str = "completed"
    last_checkpoint: Path | None = None


class Trainer:
    """Trains a model on a task as the config describes.

    Args:
        cfg: The full composed config (``training`` and ``output_dir`` are read here;
            the whole config is stored in checkpoints).
        task: Supplies datasets and the step functions.
        model: The model, built on the CPU; the trainer moves and wraps it.
        context: Rank, world size and device of this process.
        output_dir: Run folder; ``cfg.output_dir`` by default.
    """

    def __init__(
        self,
        cfg: DictConfig,
        task: Task,
        model: nn.Module,
        context: DistributedContext,
        output_dir: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.config = TrainingConfig.from_mapping(cfg.training)
        self.task = task
        self.context = context
        self.device = context.device
        self.output_dir = Path(output_dir if output_dir is not None else cfg.output_dir)
        self.checkpoint_dir = self.output_dir / "checkpoints"
        self.logger = RunLogger(
            self.output_dir,
            context.is_main,
            tensorboard=self.config.tensorboard,
            wandb=self.config.wandb,
            config=to_container(cfg),
            project=str(cfg.get("project", "dlgen")),
        )
        self.model = model.to(self.device)
        self._apply_gradient_checkpointing()
        self.ema = ModelEma(self.model, self.config.ema_decay) if self.config.ema else None
        self.train_model = self._wrap(self.model)
        self.splits = self._build_datasets()
        self.train_dataset = SeededDataset(self.splits.train, self.config.seed)
        self.sampler = ResumableSampler(
            len(self.train_dataset),
            shuffle=True,
            seed=self.config.seed,
            num_replicas=context.world_size,
            rank=context.rank,
        )
        self.optimizer = build_optimizer(self.model, self.config, self.device)
        self.schedule: Schedule = build_schedule(
            self.optimizer, self.config, self.steps_per_epoch, task.monitor_mode
        )
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.config.precision == "fp16"
        )
        self.state = TrainState()
        self._last_saved_step: int | None = None
        self._step_checkpoint_due = False
        self.checkpoints = CheckpointManager(
            self.checkpoint_dir, self.config.keep_last_checkpoints, task.monitor_mode
        )

    # Set-up ---------------------------------------------------------------------------

    def _apply_gradient_checkpointing(self) -> None:
        if not self.config.gradient_checkpointing:
            return
        for name in ("set_grad_checkpointing", "set_gradient_checkpointing"):
            method = getattr(self.model, name, None)
            if callable(method):
                method(True)
                return
        self.logger.console.warning(
            "training.gradient_checkpointing=true but the model has no "
            "set_grad_checkpointing(enable) method; training without it"
        )

    def _build_datasets(self) -> DataSplits:
        """Rank 0 first (it may download or cache the data), then the other ranks."""
        if self.context.is_main:
            splits = self.task.build_datasets()
        self.context.barrier()
        if not self.context.is_main:
            splits = self.task.build_datasets()
        return splits

    def _wrap(self, model: nn.Module) -> nn.Module:
        wrapped: nn.Module = model
        if self.context.is_distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=device_ids)
        if self.config.compile:
            wrapped = torch.compile(wrapped)  # type: ignore[assignment]
        return wrapped

    @property
    def micro_batches_per_epoch(self) -> int:
        """Micro-batches per epoch on this rank (after ``limit_train_batches``)."""
        batches = math.ceil(self.sampler.per_replica / self.config.batch_size)
        if self.config.limit_train_batches is not None:
            batches = min(batches, self.config.limit_train_batches)
        return batches

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch (a partial accumulation ends every epoch)."""
        return math.ceil(self.micro_batches_per_epoch / self.config.grad_accum_steps)

    def _loader(self, dataset: Dataset[Any], sampler: Sampler[int], seed: int) -> DataLoader[Any]:
        generator = torch.Generator()
        generator.manual_seed(seed)
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            sampler=sampler,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            generator=generator,
        )

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.config.uses_amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_AMP_DTYPES[self.config.precision])

    def eval_model(self) -> nn.Module:
        """The model evaluation uses: the EMA weights when enabled, else the raw model.

        Returns:
            An unwrapped module on the training device.
        """
        return self.ema.module if self.ema is not None else self.model

    # The loop -------------------------------------------------------------------------

    def fit(self, resume: Path | str | None = None) -> FitResult:
        """Train until the configured epochs, early stopping or ``max_steps``.

        Args:
            resume: A checkpoint to continue from (written by this trainer).

        Returns:
            The final state and metrics.

        Raises:
            NonFiniteLossError: If the loss becomes NaN or infinite.
        """
        if resume is not None:
            self.resume(resume)
        result = FitResult(self.state)
        self.logger.info(self._describe_run())
        if self.context.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(self.cfg, self.output_dir / "config.yaml")
        try:
            while self.state.epoch < self.config.epochs:
                stopped = self._train_epoch()
                if stopped:
                    result.val_metrics = self.evaluate("val")
                    if self._last_saved_step != self.state.global_step:
                        self.save_checkpoint(result.val_metrics)
                    result.last_checkpoint = self.checkpoints.path_for(self.state.global_step)
                    result.stop_reason = "max_steps"
                    return result
                result.stop_reason, result.val_metrics, checkpoint = self._end_epoch()
                result.last_checkpoint = checkpoint or result.last_checkpoint
                if result.stop_reason == "early_stopping":
                    break
            result.test_metrics = self.evaluate("test")
            if result.test_metrics:
                self.logger.info(f"test: {format_scalars(result.test_metrics)}")
                self.logger.log_scalars(result.test_metrics, self.state.global_step, "test/")
            return result
        finally:
            self.logger.close()

    def _describe_run(self) -> str:
        parameters = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return (
            f"device={self.device} world_size={self.context.world_size} "
            f"parameters={parameters:,} epochs={self.config.epochs} "
            f"steps_per_epoch={self.steps_per_epoch} precision={self.config.precision} "
            f"start: epoch {self.state.epoch} batch {self.state.batch_in_epoch} "
            f"step {self.state.global_step}"
        )

    def _batches(self) -> Iterator[tuple[int, Batch]]:
        """This epoch's remaining micro-batches with their index in the epoch."""
        self.sampler.set_epoch(self.state.epoch)
        self.sampler.set_start(
            min(self.state.batch_in_epoch * self.config.batch_size, self.sampler.per_replica)
        )
        self.train_dataset.set_epoch(self.state.epoch)
        loader = self._loader(self.train_dataset, self.sampler, self.config.seed + self.state.epoch)
        for index, batch in enumerate(loader, start=self.state.batch_in_epoch):
            if index >= self.micro_batches_per_epoch:
                break
            yield index, batch

    def _train_epoch(self) -> bool:
        """Run the rest of the current epoch; True if ``max_steps`` stopped it."""
        self.train_model.train()
        total = self.micro_batches_per_epoch
        accum = self.config.grad_accum_steps
        bar = tqdm(
            total=total,
            initial=self.state.batch_in_epoch,
            desc=f"epoch {self.state.epoch}",
            disable=not (self.context.is_main and self.config.progress_bar),
            leave=False,
        )
        window: dict[str, float] = {"loss": 0.0, "data_time": 0.0, "step_time": 0.0}
        window_batches = 0
        tick = time.perf_counter()
        for index, batch in self._batches():
            data_time = time.perf_counter() - tick
            group_start = index - index % accum
            group_size = min(accum, total - group_start)
            is_step = index + 1 == group_start + group_size
            loss = self._backward(self._to_device(batch), group_size, sync=is_step)
            self.state.batch_in_epoch = index + 1
            window["loss"] += loss
            window["data_time"] += data_time
            window_batches += 1
            bar.update(1)
            if is_step:
                grad_norm = self._optimizer_step()
                window["step_time"] += time.perf_counter() - tick
                if self.state.global_step % self.config.log_every_steps == 0:
                    self._log_train(window, window_batches, grad_norm, bar)
                    window = dict.fromkeys(window, 0.0)
                    window_batches = 0
                every = self.config.checkpoint_every_steps
                if every is not None and self.state.global_step % every == 0:
                    if index + 1 < total:
                        self.save_checkpoint()
                    else:  # the epoch's last step: the end-of-epoch checkpoint covers it
                        self._step_checkpoint_due = True
                if self.config.max_steps is not None and (
                    self.state.global_step >= self.config.max_steps
                ):
                    bar.close()
                    return True
            tick = time.perf_counter()
        bar.close()
        return False

    def _to_device(self, batch: Batch) -> Batch:
        non_blocking = self.device.type == "cuda"
        return [tensor.to(self.device, non_blocking=non_blocking) for tensor in batch]

    def _backward(self, batch: Batch, group_size: int, sync: bool) -> float:
        """Forward and backward of one micro-batch; returns its (unscaled) loss."""
        no_sync = getattr(self.train_model, "no_sync", None)
        sync_context = no_sync() if (not sync and callable(no_sync)) else contextlib.nullcontext()
        with sync_context:
            with self._autocast():
                output = self.task.training_step(self.train_model, batch)
            loss_value = float(output.loss.detach())
            if not math.isfinite(loss_value):
                raise NonFiniteLossError(self._non_finite_message(loss_value))
            self.scaler.scale(output.loss / group_size).backward()
        return loss_value

    def _non_finite_message(self, value: float) -> str:
        causes = [
            f"the learning rate is too high (training.lr={self.config.lr}; try 10x lower "
            "or a longer warmup)",
            "bad input data (NaN/Inf in a batch, labels out of range)",
        ]
        if self.config.precision == "fp16":
            causes.insert(0, "fp16 overflow (try training.precision=bf16 or fp32)")
        if self.config.grad_clip is None:
            causes.append("exploding gradients (set training.grad_clip, e.g. 1.0)")
        listed = "; ".join(f"({i}) {cause}" for i, cause in enumerate(causes, start=1))
        return (
            f"loss is {value} at epoch {self.state.epoch}, batch {self.state.batch_in_epoch}, "
            f"optimizer step {self.state.global_step + 1}; stopping. Likely causes: {listed}"
        )

    def _optimizer_step(self) -> float:
        """Unscale, clip, step, schedule and update the EMA; returns the gradient norm."""
        self.scaler.unscale_(self.optimizer)
        max_norm = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step_after_optimizer()
        if self.ema is not None:
            self.ema.update(self.model)
        self.state.global_step += 1
        return float(grad_norm)

    def _log_train(
        self, window: dict[str, float], batches: int, grad_norm: float, bar: tqdm
    ) -> None:
        scalars = {
            "loss": window["loss"] / max(1, batches),
            "lr": current_lr(self.optimizer),
            "grad_norm": grad_norm,
            "data_time": window["data_time"] / max(1, batches),
            "step_time": window["step_time"] / max(1, self.config.log_every_steps),
            "peak_memory_mb": peak_memory_mb(self.device),
        }
        self.logger.log_scalars(scalars, self.state.global_step, "train/")
        if self.config.progress_bar and self.context.is_main:
            bar.set_postfix(loss=f"{scalars['loss']:.4f}", lr=f"{scalars['lr']:.2e}")
        else:
            self.logger.info(f"step {self.state.global_step}: {format_scalars(scalars)}")

    def _end_epoch(self) -> tuple[str, dict[str, float], Path | None]:
        """Evaluate, schedule, checkpoint and decide on early stopping after an epoch."""
        finished_epoch = self.state.epoch
        self.state.epoch += 1
        self.state.batch_in_epoch = 0
        last = self.state.epoch >= self.config.epochs
        metrics: dict[str, float] = {}
        reason = "completed"
        if (finished_epoch + 1) % self.config.eval_every == 0 or last:
            metrics = self.evaluate("val")
            self.logger.info(f"epoch {finished_epoch}: val {format_scalars(metrics)}")
            self.logger.log_scalars(metrics, self.state.global_step, "val/")
            reason = self._track_metric(metrics)
        checkpoint = None
        due = (finished_epoch + 1) % self.config.checkpoint_every == 0 or self._step_checkpoint_due
        if due or last or reason != "completed":
            checkpoint = self.save_checkpoint(metrics)
            self._step_checkpoint_due = False
        return reason, metrics, checkpoint

    def _track_metric(self, metrics: dict[str, float]) -> str:
        monitored = metrics.get(self.task.monitor)
        if monitored is None:
            return "completed"
        self.schedule.step_after_evaluation(monitored)
        # Metrics are reduced over ranks, so every rank takes the same branch below.
        if self.checkpoints.is_better(monitored):
            self.state.best_metric = monitored
            self.state.bad_evaluations = 0
            self.checkpoints.best_metric = monitored
            self.context.barrier()
            if self.context.is_main:
                self.checkpoints.write_best(self.state_dict(), monitored)
            self.context.barrier()
            return "completed"
        self.state.bad_evaluations += 1
        patience = self.config.early_stopping_patience
        if patience is not None and self.state.bad_evaluations >= patience:
            self.logger.info(
                f"early stopping: {self.task.monitor} has not improved for "
                f"{self.state.bad_evaluations} evaluations (best {self.state.best_metric:.4g})"
            )
            return "early_stopping"
        return "completed"

    # Evaluation -----------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, split: str = "val", limit_batches: int | None = None) -> dict[str, float]:
        """Average the task's metrics over a split, across every rank.

        Args:
            split: ``val`` or ``test``.
            limit_batches: At most this many batches per rank (default:
                ``training.limit_val_batches``).

        Returns:
            Metric name -> value; empty when the split does not exist.

        Raises:
            ValueError: If the split name is unknown.
        """
        if split not in {"val", "test"}:
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        dataset = self.splits.val if split == "val" else self.splits.test
        if dataset is None:
            return {}
        limit = limit_batches if limit_batches is not None else self.config.limit_val_batches
        sampler = ShardSampler(len(dataset), self.context.world_size, self.context.rank)  # type: ignore[arg-type]
        loader = self._loader(dataset, sampler, self.config.seed)
        model = self.eval_model()
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
        model.train(was_training)
        return self._reduce(totals)

    def _reduce(self, totals: MetricSums) -> dict[str, float]:
        keys = sorted(totals)
        if self.context.is_distributed:
            # A rank with no evaluation batch contributes zeros under rank 0's names.
            shared = self.context.broadcast_object(keys)
            keys = [str(key) for key in shared] if isinstance(shared, list) else keys
        if not keys:
            return {}
        zero = torch.zeros((), device=self.device)
        stacked = torch.stack([totals.get(key, zero).to(self.device) for key in keys])
        self.context.all_reduce_sum(stacked)
        values = dict(zip(keys, stacked.tolist(), strict=True))
        count = values.pop("count", 0.0)
        if count <= 0:
            return {}
        averages = {key: value / count for key, value in values.items()}
        # The task derives metrics that are not averages (perplexity, macro F1).
        return self.task.finalize_metrics(averages)

    # Checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run, as tensors and primitives.

        Returns:
            The checkpoint mapping.
        """
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "epoch": self.state.epoch,
            "batch_in_epoch": self.state.batch_in_epoch,
            "global_step": self.state.global_step,
            "best_metric": self.state.best_metric,
            "bad_evaluations": self.state.bad_evaluations,
            "sampler": {
                "seed": self.sampler.seed,
                "epoch": self.state.epoch,
                "start": self.state.batch_in_epoch * self.config.batch_size,
                "batch_size": self.config.batch_size,
                "world_size": self.context.world_size,
            },
            "rng": capture_rng_state(),
            "config": to_container(self.cfg),
        }

    def save_checkpoint(self, metrics: dict[str, float] | None = None) -> Path:
        """Write ``step_XXXXXXXX.pt`` on rank 0, between barriers.

        Args:
            metrics: Validation metrics to store with it.

        Returns:
            The checkpoint path (the same on every rank).
        """
        path = self.checkpoints.path_for(self.state.global_step)
        self.context.barrier()
        if self.context.is_main:
            state = self.state_dict()
            state["metrics"] = dict(metrics or {})
            self.checkpoints.save(state, self.state.global_step)
            self.logger.info(f"saved checkpoint {path}")
        self.context.barrier()
        self._last_saved_step = self.state.global_step
        return path

    def resume(self, path: Path | str) -> None:
        """Restore a run from a checkpoint written by :meth:`save_checkpoint`.

        Args:
            path: The checkpoint file.

        Raises:
            ValueError: If the checkpoint was written with a different batch size or
                world size in the middle of an epoch (its data order cannot be replayed).
        """
        state = load_checkpoint(path, map_location=self.device)
        sampler = state["sampler"]
        same_layout = (
            sampler["batch_size"] == self.config.batch_size
            and sampler["world_size"] == self.context.world_size
        )
        if state["batch_in_epoch"] and not same_layout:
            raise ValueError(
                f"{path} stopped mid-epoch with batch_size={sampler['batch_size']} and "
                f"world_size={sampler['world_size']}; resume with the same values (now "
                f"{self.config.batch_size} and {self.context.world_size})"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        self.state = TrainState(
            epoch=int(state["epoch"]),
            batch_in_epoch=int(state["batch_in_epoch"]),
            global_step=int(state["global_step"]),
            best_metric=state["best_metric"],
            bad_evaluations=int(state["bad_evaluations"]),
        )
        self.checkpoints.best_metric = self.state.best_metric
        self._last_saved_step = self.state.global_step
        restore_rng_state(state["rng"])
        self.logger.info(
            f"resumed from {path}: epoch {self.state.epoch}, batch {self.state.batch_in_epoch}, "
            f"step {self.state.global_step}"
        )
