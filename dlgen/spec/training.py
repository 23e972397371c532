"""The training part of the Spec: optimisation and engineering options."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from dlgen.spec.common import Optimizer, Precision, Scheduler


class TrainingSpec(BaseModel):
    """How the generated project trains; every field becomes a YAML config value."""

    model_config = ConfigDict(extra="forbid")

    optimizer: Optimizer = "adamw"
    lr: PositiveFloat = 1e-3
    lr_reference_batch: PositiveInt | None = Field(
        default=None,
        description="Global batch the lr is given for; the engine scales lr linearly to the "
        "run's global batch (world size x batch_size x grad_accum_steps). None: lr as is.",
    )
    weight_decay: NonNegativeFloat = 0.05
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: Scheduler = "cosine"
    warmup_epochs: NonNegativeInt = 0
    step_size: PositiveInt = 30
    milestones: tuple[float, ...] = Field(
        default=(0.5, 0.75),
        description="multistep: fractions of training after which lr is multiplied by gamma.",
    )
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)
    epochs: PositiveInt = 100
    batch_size: PositiveInt = 64
    grad_accum_steps: PositiveInt = 1
    grad_clip: PositiveFloat | None = 1.0
    precision: Precision = "fp32"
    ema: bool = False
    ema_decay: float = Field(default=0.9999, gt=0.0, lt=1.0)
    early_stopping_patience: PositiveInt | None = None
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    mixup_alpha: NonNegativeFloat = 0.0
    cutmix_alpha: NonNegativeFloat = 0.0
    seed: NonNegativeInt = 42
    deterministic: bool = False
    checkpoint_every: PositiveInt = 1
    keep_last_checkpoints: PositiveInt = 3
    compile: bool = False
    gradient_checkpointing: bool = False
    distributed: Literal["none", "ddp", "fsdp"] = "none"
    num_gpus: PositiveInt = 1
    num_nodes: PositiveInt = 1
    num_workers: NonNegativeInt = 4

    @model_validator(mode="after")
    def _check_consistency(self) -> TrainingSpec:
        if self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"warmup_epochs={self.warmup_epochs} must be smaller than epochs={self.epochs}; "
                "lower warmup_epochs or raise epochs"
            )
        if self.distributed == "none" and (self.num_gpus > 1 or self.num_nodes > 1):
            raise ValueError(
                f"num_gpus={self.num_gpus}, num_nodes={self.num_nodes} need distributed='ddp' "
                "or 'fsdp'; set distributed or use one GPU"
            )
        if self.distributed == "fsdp" and self.ema:
            raise ValueError(
                "ema=true does not combine with distributed='fsdp' (the EMA copy would hold "
                "every weight on every rank); set ema to false or distributed to 'ddp'"
            )
        if list(self.milestones) != sorted(self.milestones) or not all(
            0.0 < m < 1.0 for m in self.milestones
        ):
            raise ValueError(
                f"milestones={list(self.milestones)} must be increasing fractions of training "
                "in (0, 1), e.g. [0.5, 0.75]"
            )
        return self

    @property
    def effective_batch_size(self) -> int:
        """Samples per optimizer step across accumulation, GPUs and nodes."""
        return self.batch_size * self.grad_accum_steps * self.num_gpus * self.num_nodes
