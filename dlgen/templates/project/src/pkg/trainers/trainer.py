"""The task-agnostic training loop: AMP, accumulation, clipping, EMA, DDP, resumable runs.

A :class:`~.task_contract.Task` supplies the data and the loss of a batch; this module does
everything else. A run can be killed at any moment and resumed from its last
checkpoint, mid-epoch included: the epoch's order is replayed from ``(seed, epoch)``
and the batches already seen are skipped, so the resumed run ends with the same
weights as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
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
from ..data.sampler import ResumableSampler, SeededDataset
from ..utils.checkpoint import (
    BEST_NAME,
    CheckpointManager,
    load_checkpoint,
    new_run_dir,
    resume_conflicts,
)
from ..utils.distributed import DistributedContext
from ..utils import fsdp
from ..utils.ema import ModelEma
from ..utils.logger import RunLogger, device_peak_flops, format_scalars, peak_memory_mb
from ..utils.seed import capture_rng_state, restore_rng_state
from .config import TrainingConfig
from .evaluator import Evaluator
from .optim import (
    Schedule,
    build_optimizer,
    build_schedule,
    current_lr,
    describe_lr_scaling,
)
from .task_contract import Batch, DataSplits, StepOutput, Task

CHECKPOINT_FORMAT = 1
METRICS_NAME = "metrics.json"
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
        test_weights: Which weights ``test_metrics`` come from: ``best.pt`` or ``last``
            (empty when there was no test evaluation).
    """

    state: TrainState
    val_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    stop_reason: str = "completed"
    last_checkpoint: Path | None = None
    test_weights: str = ""


@dataclass
class NonFiniteReport:
    """Where a non-finite loss was found.

    Attributes:
        value: This rank's first non-finite loss (None when only another rank had one).
        step: The optimizer step it belongs to (None when only another rank had one).
        first_checked: First optimizer step the check covered.
        last_checked: Last optimizer step the check covered.
    """

    value: float | None
    step: int | None
    first_checked: int
    last_checked: int


class NonFiniteGuard:
    """Remembers, on the device, the first optimizer step whose loss was NaN or infinite.

    :meth:`observe` queues three tiny device ops per micro-batch and never waits for the
    device; :meth:`poll` reads the result back (one host sync, plus an all-reduce under
    DDP so that every rank stops at the same check).

    Args:
        device: The training device.
    """

    def __init__(self, device: torch.device) -> None:
        self.first_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.value = torch.zeros((), dtype=torch.float32, device=device)
        self.checked_step = 0

    def observe(self, loss: torch.Tensor, step: int) -> None:
        """Record ``step`` if ``loss`` is the first non-finite one.

        Args:
            loss: A micro-batch loss of shape ``()``, detached.
            step: The (1-based) optimizer step the micro-batch belongs to.
        """
        first = (self.first_step < 0) & ~torch.isfinite(loss)
        self.first_step = torch.where(first, step, self.first_step)
        self.value = torch.where(first, loss.float(), self.value)

    def poll(self, step: int, context: DistributedContext) -> NonFiniteReport | None:
        """Read the flag back on every rank.

        Args:
            step: Optimizer steps taken so far (the last step this check covers).
            context: The ranks of the run.

        Returns:
            None if every loss since the previous poll was finite on every rank.
        """
        bad = (self.first_step >= 0).to(torch.float32).reshape(1)
        bad_ranks = context.all_reduce_sum(bad).item()
        first_checked = self.checked_step + 1
        self.checked_step = step
        if bad_ranks == 0:
            return None
        first = int(self.first_step.item())
        if first < 0:
            return NonFiniteReport(None, None, first_checked, step)
        return NonFiniteReport(float(self.value.item()), first, first_checked, step)


@dataclass
class StepWindow:
    """The optimizer steps since the last log line: device-side sums, host-side times.

    Attributes:
        started: ``time.perf_counter()`` at its start.
        loss_sum: Sum of the micro-batch losses ``()``, on the device.
        logs: Sums of the task's step logs, on the device.
        steps: Optimizer steps taken in it.
        micro_batches: Micro-batches in it.
        samples: Samples of this rank in it.
        tokens: Tokens of this rank in it (None when the task's batches have none).
        data_time: Seconds spent waiting for the data loader.
        paused: Seconds to leave out of its duration (checkpoints written inside it).
    """

    started: float
    loss_sum: torch.Tensor
    logs: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: int = 0
    micro_batches: int = 0
    samples: int = 0
    tokens: int | None = None
    data_time: float = 0.0
    paused: float = 0.0

    def add(self, output: StepOutput, samples: int, tokens: int | None) -> None:
        """Add one micro-batch.

        Args:
            output: Its detached loss and logs (scalars on the device).
            samples: Its batch size.
            tokens: Its token count, or None.
        """
        self.loss_sum = self.loss_sum + output.loss.float()
        for name, value in output.logs.items():
            value = value.float()
            self.logs[name] = self.logs[name] + value if name in self.logs else value
        self.micro_batches += 1
        self.samples += samples
        if tokens is not None:
            self.tokens = (self.tokens or 0) + tokens


def is_convnet(model: nn.Module) -> bool:
    """Whether a model is a convolutional network, for ``training.channels_last=auto``.

    Args:
        model: Any module.

    Returns:
        True with at least two ``nn.Conv2d`` layers whose kernel is larger than 1x1 (a
        ViT's single patch embedding and 1x1 channel mixers do not make a convnet).
    """
    spatial = [
        module
        for module in model.modules()
        if isinstance(module, nn.Conv2d) and math.prod(module.kernel_size) > 1
    ]
    return len(spatial) >= 2


class Trainer:
    """Trains a model on a task as the config describes.

    Args:
        cfg: The full composed config (``training`` and ``output_dir`` are read here;
            the whole config is stored in checkpoints).
        task: Supplies datasets and the step functions.
        model: The model, built on the CPU; the trainer moves and wraps it.
        context: Rank, world size and device of this process.
        output_dir: Run folder; by default a new one, ``<cfg.output_dir>/<run>`` with
            ``<run>`` = ``training.run_name`` or the start time (rank 0 picks it, every rank
            uses it).

    Raises:
        ValueError: If ``training.run_name`` names a run that already has checkpoints.
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
        self.output_dir = Path(output_dir) if output_dir is not None else self._new_run_dir()
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
        self._channels_last = self._configure_throughput()
        self._apply_gradient_checkpointing()
        # FSDP only under a multi-process launch; a single process trains unsharded.
        self.sharded = self.config.distributed == "fsdp" and context.is_distributed
        if self.sharded and self.config.ema:
            raise ValueError(
                "training.ema=true is not supported with training.distributed=fsdp (the EMA "
                "copy would hold every weight on every rank); set training.ema=false or use ddp"
            )
        self.ema = ModelEma(self.model, self.config.ema_decay) if self.config.ema else None
        self.train_model = self._wrap(self.model)
        self.splits = self._build_datasets()
        self.evaluator = Evaluator(
            task, self.splits, self.config, context, self._loader, lockstep=self.sharded
        )
        self.train_dataset = SeededDataset(self.splits.train, self.config.seed)
        self.sampler = ResumableSampler(
            len(self.train_dataset),
            shuffle=True,
            seed=self.config.seed,
            num_replicas=context.world_size,
            rank=context.rank,
        )
        self.optimizer = build_optimizer(self.model, self.config, self.device, context.world_size)
        scaling = describe_lr_scaling(self.config, context.world_size)
        if scaling is not None:
            self.logger.info(scaling)
        self.schedule: Schedule = build_schedule(
            self.optimizer, self.config, self.steps_per_epoch, task.monitor_mode
        )
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.config.precision == "fp16"
        )
        self.state = TrainState()
        self._last_saved_step: int | None = None
        self._step_checkpoint_due = False
        self._guard = NonFiniteGuard(self.device)
        self._train_loader: DataLoader[Any] | None = None
        self._peak_flops = device_peak_flops(self.device)
        self.checkpoints = CheckpointManager(
            self.checkpoint_dir, self.config.keep_last_checkpoints, task.monitor_mode
        )

    # Set-up ---------------------------------------------------------------------------

    def _new_run_dir(self) -> Path:
        """Rank 0 names a new run folder and every rank receives it."""
        chosen: tuple[bool, str] = (True, "")
        if self.context.is_main:
            try:
                chosen = (True, str(new_run_dir(self.cfg.output_dir, self.config.run_name)))
            except ValueError as exc:
                chosen = (False, str(exc))
        shared = self.context.broadcast_object(chosen)
        ok, text = shared if isinstance(shared, tuple) else chosen
        if not ok:
            raise ValueError(str(text))
        return Path(str(text))

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

    def _configure_throughput(self) -> bool:
        """Apply TF32, cuDNN autotuning and the model's memory format from the config.

        TF32 and autotuning apply on CUDA only, and never with ``training.deterministic``
        (a resumed run then matches an uninterrupted one bit for bit).

        Returns:
            Whether channels_last is on (the model is converted; 4-D inputs follow).
        """
        fast = not self.config.deterministic
        if self.device.type == "cuda":
            tf32 = self.config.tf32 and fast
            torch.set_float32_matmul_precision("high" if tf32 else "highest")
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cudnn.benchmark = self.config.cudnn_benchmark and fast
        setting = self.config.channels_last
        if setting == "auto":
            enabled = self.device.type == "cuda" and is_convnet(self.model)
        else:
            enabled = bool(setting)
        if enabled:
            self.model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            persistent = self.config.persistent_workers and self.config.num_workers > 0
            self.logger.info(
                f"throughput: channels_last={enabled} "
                f"tf32={self.config.tf32 and fast} "
                f"cudnn_benchmark={self.config.cudnn_benchmark and fast} "
                f"pin_memory={self.config.pin_memory} persistent_workers={persistent}"
            )
        return enabled

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
        if self.sharded:
            wrapped = fsdp.shard_model(model)
        elif self.context.is_distributed:
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

    def _loader(
        self, dataset: Dataset[Any], sampler: Sampler[int], seed: int, persistent: bool = False
    ) -> DataLoader[Any]:
        """A loader of ``training.batch_size`` batches.

        Args:
            dataset: The samples.
            sampler: Their order.
            seed: Seeds the loader's generator (worker seeds).
            persistent: Keep the workers between passes (the train loader, with
                ``training.persistent_workers`` and ``num_workers > 0``).

        Returns:
            The loader; batches are pinned on CUDA with ``training.pin_memory``.
        """
        generator = torch.Generator()
        generator.manual_seed(seed)
        workers = self.config.num_workers
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.config.pin_memory and self.device.type == "cuda",
            persistent_workers=persistent and self.config.persistent_workers and workers > 0,
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
            OmegaConf.save(self.cfg, self.output_dir / "config.yaml", resolve=True)
            self.logger.info(f"run folder {self.output_dir}")
        try:
            while self.state.epoch < self.config.epochs:
                stopped = self._train_epoch()
                if stopped:
                    result.val_metrics = self.evaluate("val")
                    if self._last_saved_step != self.state.global_step:
                        self.save_checkpoint(result.val_metrics)
                    result.last_checkpoint = self.checkpoints.path_for(self.state.global_step)
                    result.stop_reason = "max_steps"
                    self._write_metrics(result)
                    return result
                result.stop_reason, result.val_metrics, checkpoint = self._end_epoch()
                result.last_checkpoint = checkpoint or result.last_checkpoint
                if result.stop_reason == "early_stopping":
                    break
            result.test_metrics, result.test_weights = self._final_test()
            self._write_metrics(result)
            return result
        finally:
            self.logger.close()

    def _final_test(self) -> tuple[dict[str, float], str]:
        """Evaluate on test with the best checkpoint's weights (the last ones without it).

        The trainer's own weights are restored afterwards.

        Returns:
            The test metrics (empty without a test split) and the weights used.
        """
        if not self.evaluator.has_split("test"):
            return {}, ""
        best = self.checkpoint_dir / BEST_NAME
        model = self.eval_model()
        if best.is_file():
            state = load_checkpoint(best, map_location=self.device)
            use_ema = self.ema is not None and state["ema"] is not None
            weights = state["ema"]["module"] if use_ema else state["model"]
            # Sharded weights stay on the device (each rank keeps its own shard).
            keep = self.device if self.sharded else torch.device("cpu")
            current = {
                key: value.detach().to(keep, copy=True) for key, value in model.state_dict().items()
            }
            self._load_weights(model, weights)
            try:
                metrics = self.evaluate("test")
            finally:
                self._load_weights(model, current)
            source = BEST_NAME
            described = f"{BEST_NAME}, step {int(state['global_step'])}"
        else:
            metrics = self.evaluate("test")
            source, described = "last", f"last weights, step {self.state.global_step}"
        if metrics:
            self.logger.info(f"test: {format_scalars(metrics)} (weights: {described})")
            self.logger.log_scalars(metrics, self.state.global_step, "test/")
        return metrics, source

    def _load_weights(self, model: nn.Module, weights: dict[str, Any]) -> None:
        """Load weights; under FSDP full or sharded ones, on every rank (collective)."""
        if self.sharded:
            fsdp.load_full_model_state(model, weights)
        else:
            model.load_state_dict(weights)

    def _write_metrics(self, result: FitResult) -> None:
        """Write ``<run folder>/metrics.json`` (rank 0): final metrics and their weights."""
        if not self.context.is_main:
            return
        payload = {
            "stop_reason": result.stop_reason,
            "epoch": result.state.epoch,
            "global_step": result.state.global_step,
            "monitor": self.task.monitor,
            "best_metric": result.state.best_metric,
            "val": result.val_metrics,
            "test": result.test_metrics,
            "test_weights": result.test_weights or None,
            "best_checkpoint": (
                str(self.checkpoint_dir / BEST_NAME)
                if (self.checkpoint_dir / BEST_NAME).is_file()
                else None
            ),
            "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        }
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / METRICS_NAME
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    def _describe_run(self) -> str:
        parameters = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return (
            f"device={self.device} world_size={self.context.world_size} "
            f"{self._parallelism()} parameters={parameters:,} epochs={self.config.epochs} "
            f"steps_per_epoch={self.steps_per_epoch} precision={self.config.precision} "
            f"start: epoch {self.state.epoch} batch {self.state.batch_in_epoch} "
            f"step {self.state.global_step}"
        )

    def _parallelism(self) -> str:
        if self.sharded:
            return f"parallel=fsdp ({len(fsdp.shard_units(self.model))} units + root)"
        return "parallel=ddp" if self.context.is_distributed else "parallel=none"

    def _batches(self) -> Iterator[tuple[int, Batch]]:
        """This epoch's remaining micro-batches with their index in the epoch.

        The train loader is built once and reused every epoch, so its workers persist
        (``training.persistent_workers``); the sampler and the dataset's epoch are set
        before each pass, and its generator is re-seeded from ``(seed, epoch)``.
        """
        self.sampler.set_epoch(self.state.epoch)
        self.sampler.set_start(
            min(self.state.batch_in_epoch * self.config.batch_size, self.sampler.per_replica)
        )
        self.train_dataset.set_epoch(self.state.epoch)
        seed = self.config.seed + self.state.epoch
        if self._train_loader is None:
            self._train_loader = self._loader(
                self.train_dataset, self.sampler, seed, persistent=True
            )
        elif self._train_loader.generator is not None:
            self._train_loader.generator.manual_seed(seed)
        for index, batch in enumerate(self._train_loader, start=self.state.batch_in_epoch):
            if index >= self.micro_batches_per_epoch:
                break
            yield index, batch

    def _train_epoch(self) -> bool:
        """Run the rest of the current epoch.

        Nothing here waits for the device except the logging steps, the non-finite checks
        (every ``training.nonfinite_check_every_steps`` steps, before every checkpoint,
        and at the end of the epoch) and whatever the task's step does itself.

        Returns:
            True if ``training.max_steps`` stopped it.

        Raises:
            NonFiniteLossError: If a loss of this epoch was NaN or infinite.
        """
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
        self._guard.checked_step = self.state.global_step
        window = StepWindow(time.perf_counter(), torch.zeros((), device=self.device))
        try:
            tick = time.perf_counter()
            for index, batch in self._batches():
                window.data_time += time.perf_counter() - tick
                group_start = index - index % accum
                group_size = min(accum, total - group_start)
                is_step = index + 1 == group_start + group_size
                tokens = self.task.batch_tokens(batch)
                output = self._backward(self._to_device(batch), group_size, sync=is_step)
                window.add(output, samples=int(batch[0].shape[0]), tokens=tokens)
                self.state.batch_in_epoch = index + 1
                bar.update(1)
                if is_step:
                    grad_norm = self._optimizer_step()
                    window.steps += 1
                    step = self.state.global_step
                    if step % self.config.log_every_steps == 0:
                        ended = self._log_train(window, grad_norm, bar)
                        window = StepWindow(ended, torch.zeros((), device=self.device))
                    elif step % self.config.check_every_steps == 0:
                        self._check_finite()
                    every = self.config.checkpoint_every_steps
                    if every is not None and step % every == 0:
                        if index + 1 < total:
                            saving = time.perf_counter()
                            self._check_finite()  # never checkpoint non-finite weights
                            self.save_checkpoint()
                            window.paused += time.perf_counter() - saving
                        else:  # the epoch's last step: the end-of-epoch checkpoint covers it
                            self._step_checkpoint_due = True
                    if self.config.max_steps is not None and step >= self.config.max_steps:
                        self._check_finite()
                        return True
                tick = time.perf_counter()
            self._check_finite()
            return False
        finally:
            bar.close()

    def _to_device(self, batch: Batch) -> Batch:
        """Move a batch to the device; 4-D float tensors go channels_last when it is on."""
        non_blocking = self.device.type == "cuda"
        moved = [tensor.to(self.device, non_blocking=non_blocking) for tensor in batch]
        if not self._channels_last:
            return moved
        return [
            (
                tensor.contiguous(memory_format=torch.channels_last)
                if tensor.dim() == 4 and tensor.is_floating_point()
                else tensor
            )
            for tensor in moved
        ]

    def _backward(self, batch: Batch, group_size: int, sync: bool) -> StepOutput:
        """Forward and backward of one micro-batch, without waiting for the device.

        Args:
            batch: The micro-batch, on the device.
            group_size: Micro-batches in its accumulation group (the loss is divided by it).
            sync: Whether gradients are all-reduced after this backward (last of a group).

        Returns:
            The detached, unscaled loss ``()`` and the task's detached logs.
        """
        if self.sharded:
            # FSDP2's no_sync: skip the reduce-scatter until the group's last micro-batch.
            self.model.set_requires_gradient_sync(sync)  # type: ignore[operator]
        no_sync = getattr(self.train_model, "no_sync", None)
        sync_context = no_sync() if (not sync and callable(no_sync)) else contextlib.nullcontext()
        with sync_context:
            with self._autocast():
                output = self.task.training_step(self.train_model, batch)
            loss = output.loss.detach()
            self._guard.observe(loss, self.state.global_step + 1)
            self.scaler.scale(output.loss / group_size).backward()
        return StepOutput(loss, {name: value.detach() for name, value in output.logs.items()})

    def _check_finite(self) -> None:
        """Read the on-device non-finite flag back (a host sync) and stop on a bad loss.

        Raises:
            NonFiniteLossError: If a loss since the previous check was NaN or infinite.
        """
        report = self._guard.poll(self.state.global_step, self.context)
        if report is not None:
            raise NonFiniteLossError(self._non_finite_message(report))

    def _non_finite_message(self, report: NonFiniteReport) -> str:
        lr = self.config.scaled_lr(self.context.world_size)
        scaled = f", scaled to {lr:.4g}" if lr != self.config.lr else ""
        causes = [
            f"the learning rate is too high (training.lr={self.config.lr}{scaled}; try 10x "
            "lower or a longer warmup)",
            "bad input data (NaN/Inf in a batch, labels out of range)",
        ]
        if self.config.precision == "fp16":
            causes.insert(0, "fp16 overflow (try training.precision=bf16 or fp32)")
        if self.config.grad_clip is None:
            causes.append("exploding gradients (set training.grad_clip, e.g. 1.0)")
        listed = "; ".join(f"({i}) {cause}" for i, cause in enumerate(causes, start=1))
        if report.step is not None:
            where = f"loss is {report.value} at optimizer step {report.step}"
        else:
            where = "the loss is non-finite on another rank"
        return (
            f"{where} (epoch {self.state.epoch}), found by the check of optimizer steps "
            f"{report.first_checked}-{report.last_checked} (the loss is checked on the device "
            f"and read every {self.config.check_every_steps} steps: "
            "training.nonfinite_check_every_steps); stopping, no checkpoint of those steps "
            f"was written. Likely causes: {listed}"
        )

    def _optimizer_step(self) -> torch.Tensor:
        """Unscale, clip, step, schedule and update the EMA, without waiting for the device.

        Returns:
            The total gradient norm before clipping, detached, of shape ``()``.
        """
        self.scaler.unscale_(self.optimizer)
        max_norm = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        if self.sharded:
            grad_norm = grad_norm.full_tensor()  # type: ignore[attr-defined]  # a DTensor
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step_after_optimizer()
        if self.ema is not None:
            self.ema.update(self.model)
        self.state.global_step += 1
        return grad_norm.detach()

    def _synchronize(self) -> None:
        """Wait for the device's queued work, so host timings cover it."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def _log_train(self, window: StepWindow, grad_norm: torch.Tensor, bar: tqdm) -> float:
        """Check the loss, then log the window's means, timings and throughput.

        The only place of the step loop that reads tensors back: the device is synchronized
        once, then the losses, the task's logs and the gradient norm come back in one copy.

        Args:
            window: The optimizer steps since the previous log line.
            grad_norm: The gradient norm of the last step, of shape ``()``.
            bar: The epoch's progress bar.

        Returns:
            The ``time.perf_counter()`` the window ended at (the next one starts there).

        Raises:
            NonFiniteLossError: If a loss of the window was NaN or infinite.
        """
        self._synchronize()
        ended = time.perf_counter()
        self._check_finite()
        names = sorted(window.logs)
        tensors = [window.loss_sum, grad_norm.float(), *(window.logs[name] for name in names)]
        loss_sum, norm, *logs = torch.stack(tensors).tolist()
        batches = max(1, window.micro_batches)
        steps = max(1, window.steps)
        seconds = max(ended - window.started - window.paused, 1e-9)
        world = self.context.world_size
        scalars = {"loss": loss_sum / batches, "lr": current_lr(self.optimizer), "grad_norm": norm}
        scalars.update({name: value / batches for name, value in zip(names, logs, strict=True)})
        scalars["step_time"] = seconds / steps
        scalars["data_time"] = window.data_time / steps
        scalars["samples_per_s"] = window.samples * world / seconds
        if window.tokens is not None:
            scalars["tokens_per_s"] = window.tokens * world / seconds
        if self.config.flops_per_sample is not None and self._peak_flops is not None:
            achieved = 3.0 * self.config.flops_per_sample * scalars["samples_per_s"]
            scalars["mfu"] = achieved / (self._peak_flops * world)
        scalars["peak_memory_mb"] = peak_memory_mb(self.device)
        self.logger.log_scalars(scalars, self.state.global_step, "train/")
        if self.config.progress_bar and self.context.is_main:
            bar.set_postfix(loss=f"{scalars['loss']:.4f}", lr=f"{scalars['lr']:.2e}")
        self.logger.info(f"step {self.state.global_step}: {format_scalars(scalars)}")
        return ended

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
            state = self.state_dict() if self.sharded or self.context.is_main else {}
            if self.context.is_main:
                self.checkpoints.write_best(state, monitored)
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
        return self.evaluator.evaluate(self.eval_model(), split, limit_batches)

    # Checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run, as tensors and primitives.

        Under FSDP the weights and optimizer state are gathered in full on rank 0 (every
        rank must call this); the optimizer state is then keyed by parameter name.

        Returns:
            The checkpoint mapping.
        """
        if self.sharded:
            model = fsdp.full_model_state(self.model)
            optimizer = fsdp.full_optimizer_state(self.model, self.optimizer)
        else:
            model, optimizer = self.model.state_dict(), self.optimizer.state_dict()
        return {
            "format": CHECKPOINT_FORMAT,
            "model": model,
            "optimizer": optimizer,
            "optimizer_layout": "by_name" if self.sharded else "by_index",
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
        state = self.state_dict() if self.sharded or self.context.is_main else {}
        if self.context.is_main:
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
            ValueError: If this run's config differs from the checkpoint's in a way that
                breaks the resume (model config, batch size, accumulation, optimizer or
                scheduler kind, world size, data shapes). Overrides the restored state
                cannot honour (a new ``training.lr``, ...) are logged as one warning each.
        """
        state = load_checkpoint(path, map_location=self.device)
        errors, warnings = resume_conflicts(
            dict(state.get("config") or {}),
            to_container(self.cfg),
            int(state["sampler"]["world_size"]),
            self.context.world_size,
        )
        if errors:
            raise ValueError(
                f"cannot resume {path}: the config differs from the checkpoint's in "
                f"{'; '.join(errors)}; resume with the checkpoint's values or start a new run"
            )
        if self.context.is_main:
            for warning in warnings:
                self.logger.console.warning(f"resume: {warning}")
        layout = state.get("optimizer_layout", "by_index")
        if layout != ("by_name" if self.sharded else "by_index"):
            written = "an FSDP run" if layout == "by_name" else "a run without FSDP"
            raise ValueError(
                f"cannot resume {path}: its optimizer state was written by {written}; resume "
                "it with the same training.distributed and launch (its weights load anywhere: "
                "model.pretrained or inference.py)"
            )
        if self.sharded:
            fsdp.load_full_model_state(self.model, state["model"])
            fsdp.load_full_optimizer_state(self.model, self.optimizer, state["optimizer"])
        else:
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
