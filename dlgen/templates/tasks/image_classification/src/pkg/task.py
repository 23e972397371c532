"""Image classification: the data, loss, metrics and steps the trainer runs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from .data.config import DataConfig
from .data.datasets import SyntheticImages, build_datasets
from .data.mixing import MixupCutmix
from .data.transforms import eval_transform
from .losses.classification import ClassificationLoss
from .metrics.classification import topk_correct
from .trainers.task_contract import (
    BaseTask,
    Batch,
    DataSplits,
    MetricSums,
    MonitorMode,
    StepOutput,
    class_zero_cross_entropy,
    format_top_classes,
)

TOP_K = 5


class ImageClassificationTask(BaseTask):
    """Images ``(B, C, H, W)`` to logits ``(B, num_classes)``; top-1 selects the best model.

    Args:
        cfg: The full config; reads ``data`` and ``training.label_smoothing``,
            ``mixup_alpha``, ``cutmix_alpha``.
    """

    monitor = "top1"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.data = DataConfig.from_mapping(cfg.data)
        smoothing = float(cfg.training.label_smoothing)
        self.loss = ClassificationLoss(smoothing)
        self.mixer = MixupCutmix(
            float(cfg.training.mixup_alpha),
            float(cfg.training.cutmix_alpha),
            self.data.num_classes,
            smoothing,
        )

    def build_datasets(self) -> DataSplits:
        """Create the datasets of ``data.source``.

        Returns:
            Train, validation and test splits.
        """
        return build_datasets(self.data)

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Loss of one batch, with Mixup/CutMix and label smoothing when configured.

        Args:
            model: Maps ``(B, C, H, W)`` to ``(B, num_classes)``.
            batch: ``(images, labels)`` on the model's device.

        Returns:
            The loss.
        """
        images, labels = batch[0], batch[1]
        if self.mixer.enabled:
            images, targets = self.mixer(images, labels)
            return StepOutput(self.loss(model(images), targets))
        return StepOutput(self.loss(model(images), labels))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss and top-1/top-5 hits of one batch.

        Args:
            model: The model in eval mode.
            batch: ``(images, labels)`` on the model's device.

        Returns:
            ``loss``, ``top1``, ``top5`` sums and the sample ``count``.
        """
        images, labels = batch[0], batch[1]
        logits = model(images).float()
        hits = topk_correct(logits, labels, (1, TOP_K))
        return {
            "loss": F.cross_entropy(logits, labels, reduction="sum"),
            "top1": hits[1],
            "top5": hits[TOP_K],
            "count": torch.tensor(float(labels.shape[0]), device=logits.device),
        }

    def example_batch(self, batch_size: int) -> Batch:
        """A synthetic batch of the configured shapes.

        Args:
            batch_size: B.

        Returns:
            ``(images (B, C, H, W), labels (B,))`` on the CPU.
        """
        data = self.data
        dataset = SyntheticImages(
            batch_size, data.in_channels, data.image_size, data.num_classes, data.split_seed
        )
        samples = [dataset[index] for index in range(batch_size)]
        return torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples])

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
        """Top-k classes for image files (a synthetic example batch when none given).

        Args:
            model: The trained model in eval mode.
            inputs: Image paths.

        Returns:
            One line per input: the name and the top classes with probabilities.
        """
        device = next(model.parameters()).device
        if inputs:
            from PIL import Image

            transform = eval_transform(self.data)
            mode = "L" if self.data.in_channels == 1 else "RGB"
            images = torch.stack([transform(Image.open(path).convert(mode)) for path in inputs])
            names = list(inputs)
        else:
            images = self.example_batch(2)[0]
            names = ["synthetic[0]", "synthetic[1]"]
        logits = model(images.to(device))  # (N, num_classes)
        return format_top_classes(names, logits, TOP_K, self.data.class_names)


def build_task(cfg: DictConfig) -> ImageClassificationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return ImageClassificationTask(cfg)
